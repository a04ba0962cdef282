import { topicName } from '@lifecycle/contracts';
import type { Kafka, Pool } from '@lifecycle/kit';

/** The consumer groups whose input makes up every profile, with their topics. */
export const classifierGroups = [
  { groupId: 'lifecycle-classifier', topic: 'lifecycleEvents' },
  { groupId: 'lifecycle-classifier-timers', topic: 'timersFired' },
  { groupId: 'lifecycle-classifier-engagement', topic: 'messageEvents' },
  { groupId: 'lifecycle-classifier-consent', topic: 'consentChanges' },
] as const;

export type RebuildResult = { ok: true; replay: Record<string, number> } | { ok: false; reason: string };

/**
 * Resets the classifier so its next start rebuilds every profile from the retained events:
 * drops its schema (profiles, history, processed ids, and the record of its migrations, which
 * lives in that schema, so the next start applies them all again) and moves its consumer groups
 * back to the start of their topics. Refuses while a classifier is running, since it would race the reset.
 * Stage changes replayed carry the ids they had the first time, so downstream consumers drop them.
 */
export async function resetClassifier(opts: { kafka: Kafka; pool: Pool; prefix: string }): Promise<RebuildResult> {
  const admin = opts.kafka.admin();
  await admin.connect();
  try {
    const groups = classifierGroups.map((g) => ({ ...g, groupId: opts.prefix + g.groupId, topicName: topicName(opts.prefix, g.topic) }));
    const described = await admin.describeGroups(groups.map((g) => g.groupId));
    const running = described.groups.filter((g) => g.members.length > 0);
    if (running.length > 0) {
      return { ok: false, reason: `the classifier is running (consumer group ${running.map((g) => g.groupId).join(', ')} has members); stop it first` };
    }
    // `lifecycle`: the schema's name before it was named for the service, on a database no newer classifier has started on.
    // Erased customers must stay erased: their hashes are set aside, and the migration that makes the table again brings them back.
    await opts.pool.query(`DO $$ BEGIN
      IF to_regclass('classifier.erased_customers') IS NOT NULL THEN
        CREATE SCHEMA IF NOT EXISTS classifier_kept;
        DROP TABLE IF EXISTS classifier_kept.erased_customers;
        ALTER TABLE classifier.erased_customers SET SCHEMA classifier_kept;
      END IF;
    END $$`);
    await opts.pool.query('DROP SCHEMA IF EXISTS classifier CASCADE');
    await opts.pool.query('DROP SCHEMA IF EXISTS lifecycle CASCADE');
    const replay: Record<string, number> = {};
    for (const g of groups) {
      await admin.resetOffsets({ groupId: g.groupId, topic: g.topicName, earliest: true });
      const offsets = await admin.fetchTopicOffsets(g.topicName);
      replay[g.topicName] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    }
    return { ok: true, replay };
  } finally {
    await admin.disconnect();
  }
}
