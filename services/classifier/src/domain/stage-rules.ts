import type { Stage } from '@lifecycle/contracts';
import type { Profile } from './profile.ts';

export interface StageDecision {
  stage: Stage;
  /** Why, in a word ops can filter on. */
  reason: 'repeat_order' | 'first_order' | 'shopping_intent' | 'first_seen';
}

/** The stage a profile belongs in, and why. Pure: the same profile always gives the same answer. */
export function decideStage(profile: Profile): StageDecision {
  if (profile.orderCount >= 2) return { stage: 'retention', reason: 'repeat_order' };
  if (profile.orderCount === 1) return { stage: 'conversion', reason: 'first_order' };
  if (profile.intentSignals > 0) return { stage: 'consideration', reason: 'shopping_intent' };
  return { stage: 'awareness', reason: 'first_seen' };
}
