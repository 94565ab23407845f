/**
 * Customer notifications: templates per locale, preferences and quiet hours, composing one
 * message per channel, and the senders (SMTP, SMS and push over HTTP).
 */
export * from './templates.ts';
export * from './preferences.ts';
export * from './compose.ts';
export * from './senders.ts';
