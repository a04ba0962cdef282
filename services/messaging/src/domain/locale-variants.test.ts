import { describe, expect, it } from 'vitest';
import { chooseVariant, isLocaleFolder } from './locale-variants.ts';

describe('locale variants', () => {
  it('picks the exact locale, then its language, then the default', () => {
    expect(chooseVariant(['ja', 'pt-br'], 'pt-BR')).toBe('pt-br');
    expect(chooseVariant(['ja'], 'ja-JP')).toBe('ja');
    expect(chooseVariant(['ja'], 'ja_JP')).toBe('ja');
    expect(chooseVariant(['ja'], 'de-DE')).toBeNull();
    expect(chooseVariant([], 'en')).toBeNull();
  });

  it('treats only locale-shaped folders as variants', () => {
    expect(['ja', 'pt-br', 'zh-hant'].every(isLocaleFolder)).toBe(true);
    expect(['_partials', 'images', 'Ja'].some(isLocaleFolder)).toBe(false);
  });
});
