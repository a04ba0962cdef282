/** Small, self-contained HTML pages the service shows to customers. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `ada@example.com` → `a••@example.com`: enough to recognise, not enough to harvest. */
export function maskAddress(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}${'•'.repeat(Math.max(1, Math.min(local.length - 1, 6)))}@${domain}`;
}

export function page(title: string, body: string, lang = 'en'): string {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;background:#f6f3ef;color:#2b2622;margin:0;padding:48px 16px}
main{max-width:480px;margin:0 auto;background:#fff;border-radius:8px;padding:32px}
button{font-size:16px;padding:10px 20px;border:0;border-radius:6px;background:#2b2622;color:#fff;cursor:pointer}
fieldset{border:0;padding:0;margin:0 0 20px}legend{font-weight:bold;margin-bottom:8px}label{display:block;margin:8px 0}
.hint{display:block;margin-left:24px;font-size:14px;color:#8a7f75}.lang{float:right;font-size:14px}</style>
</head><body><main>${body}</main></body></html>`;
}
