/**
 * A customer's address as an operator may see it next to a notification: enough to tell
 * which address it went to, not enough to read it off the screen. An email keeps its first
 * character and its domain (`j***@example.com`); a phone number or a push token keeps its
 * last four characters (`***4567`), and anything of four characters or fewer is hidden whole.
 */
export function maskRecipient(recipient: string): string {
  const at = recipient.lastIndexOf('@');
  if (at > 0 && at < recipient.length - 1) {
    // by code point, so a non-ASCII first letter is not cut in half
    const first = Array.from(recipient.slice(0, at))[0] ?? '';
    return `${first}***${recipient.slice(at)}`;
  }
  const chars = Array.from(recipient);
  return chars.length <= 4 ? '***' : `***${chars.slice(-4).join('')}`;
}
