/**
 * Which variant of a template a customer gets: their exact locale (`ja-JP`), else its language
 * (`ja`), else the template's default. `available` holds the variant folder names, lower-case.
 */
export function chooseVariant(available: readonly string[], requested: string): string | null {
  const tag = requested.trim().toLowerCase().replace(/_/g, '-');
  const language = tag.split('-')[0] ?? '';
  for (const candidate of [tag, language]) if (candidate !== '' && available.includes(candidate)) return candidate;
  return null;
}

/** Variant folders are named like `ja` or `pt-br`. */
export function isLocaleFolder(name: string): boolean {
  return /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(name);
}
