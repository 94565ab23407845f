/**
 * Notification templates: per template name and locale, with the fallback between locales
 * and the `{{variable}}` rendering. Pure: no I/O, no clock.
 *
 * Locale fallback (see {@link resolveLocale}): the exact tag, then another tag of the same
 * language *and the same script*, then English. Scripts are never mixed: a `zh-TW` reader
 * (Traditional Chinese) gets `zh-Hant`, `zh-HK` or `zh-MO` text when there is some, and
 * English otherwise — never `zh-CN` or bare `zh` (both Simplified). Simplified text sent to
 * Taiwan or Hong Kong reads as wrong, not as "close enough"; English is the neutral default.
 * Label Traditional text `zh-TW` or `zh-Hant`, never bare `zh`: bare `zh` means Simplified
 * (CLDR's likely subtags make it `zh-Hans-CN`).
 */

/** One template in one locale. `body` is plain text; `sms` is the short text for SMS and push (default: `body`). */
export interface LocalizedTemplate {
  subject: string;
  body: string;
  sms?: string;
}

/** template name → locale tag (BCP 47: `en`, `zh-TW`, `zh-CN`) → text */
export type Templates = Record<string, Record<string, LocalizedTemplate>>;

/** The locale every chain ends with. */
export const FALLBACK_LOCALE = 'en';

/** What the customer can do about a problem, as the pipeline names it. */
export type Remedy =
  | 'wait'
  | 'ship_available'
  | 'cancel'
  | 'retry_payment'
  | 'another_payment_method'
  | 'correct_address'
  | 'order_again';

// --- locales ---------------------------------------------------------------------------------

interface ParsedLocale {
  tag: string;
  language: string;
  /** the script after CLDR's likely subtags (`zh-TW` → Hant, `zh` → Hans), when known */
  script: string | undefined;
}

function parseLocale(tag: string): ParsedLocale | null {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag.trim().replace(/_/g, '-'));
    if (canonical === undefined) return null;
    const maximized = new Intl.Locale(canonical).maximize();
    return { tag: canonical, language: maximized.language, script: maximized.script };
  } catch {
    return null;
  }
}

/** The best of `available` for `requested` alone: exact tag, else same language and script. */
function matchLocale(requested: string, available: readonly string[]): string | null {
  const want = parseLocale(requested);
  if (want === null) return null;
  const candidates = available
    .map((tag) => ({ tag, parsed: parseLocale(tag) }))
    .filter((c): c is { tag: string; parsed: ParsedLocale } => c.parsed !== null);
  const exact = candidates.find((c) => c.parsed.tag.toLowerCase() === want.tag.toLowerCase());
  if (exact) return exact.tag;
  const sameScript = candidates.filter((c) => c.parsed.language === want.language && c.parsed.script === want.script);
  // the script-only tag (`zh-Hant`), then the bare language (`en` for `en-GB`, when its script matches),
  // then any other region in a stable order
  const rank = (c: { parsed: ParsedLocale }) => {
    const t = c.parsed.tag.toLowerCase();
    if (want.script !== undefined && t === `${want.language}-${want.script}`.toLowerCase()) return 0;
    if (t === want.language.toLowerCase()) return 1;
    return 2;
  };
  const best = sameScript.sort((a, b) => rank(a) - rank(b) || a.parsed.tag.localeCompare(b.parsed.tag))[0];
  return best ? best.tag : null;
}

/**
 * The locale of `available` to use for a reader of `requested`: the exact tag, then the same
 * language in the same script (`zh-TW` → `zh-Hant` → `zh-HK`; `en-GB` → `en`), then
 * {@link FALLBACK_LOCALE} (or its closest tag). Null when none fits; an unparseable or null
 * `requested` goes straight to the fallback. Tags compare case-insensitively, `_` as `-`.
 */
export function resolveLocale(requested: string | null | undefined, available: readonly string[], fallback: string = FALLBACK_LOCALE): string | null {
  if (requested) {
    const found = matchLocale(requested, available);
    if (found !== null) return found;
  }
  return matchLocale(fallback, available);
}

/**
 * The template `name` for a reader of `locale`, with the locale actually chosen (so the rest
 * of the message — remedies — is written in the same language). Null when the template does
 * not exist or has no locale that fits.
 */
export function chooseTemplate(
  templates: Templates,
  name: string,
  locale: string | null | undefined,
): { locale: string; template: LocalizedTemplate } | null {
  const byLocale = Object.hasOwn(templates, name) ? templates[name] : undefined;
  if (byLocale === undefined) return null;
  const chosen = resolveLocale(locale, Object.keys(byLocale));
  if (chosen === null) return null;
  const template = byLocale[chosen];
  return template === undefined ? null : { locale: chosen, template };
}

/**
 * Later layers win, per template and locale: `mergeTemplates(defaultTemplates, fromConfig)`.
 * A locale entry is replaced whole, so an override without `sms` sends its body by SMS rather
 * than a default text that may no longer match it.
 */
export function mergeTemplates(...layers: Templates[]): Templates {
  const merged: Templates = {};
  for (const layer of layers) {
    for (const [name, byLocale] of Object.entries(layer)) {
      merged[name] = { ...merged[name], ...byLocale };
    }
  }
  return merged;
}

/**
 * The config file's `notifications.templates` (name → {subject, body}, one language) as
 * {@link Templates} in `locale` (default `en`: the config's texts are English today).
 */
export function templatesFromConfig(
  entries: Record<string, { subject: string; body: string; sms?: string }>,
  locale: string = FALLBACK_LOCALE,
): Templates {
  const templates: Templates = {};
  for (const [name, entry] of Object.entries(entries)) {
    templates[name] = { [locale]: entry.sms === undefined ? { subject: entry.subject, body: entry.body } : { ...entry } };
  }
  return templates;
}

// --- rendering -------------------------------------------------------------------------------

/** `{{name}}` or `{{name|text when missing}}`, spaces allowed inside the braces. */
// the default is read up to `}}` with no overlapping quantifiers: linear on any input
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}\}/g;

/** A rendered text and what it lacked. */
export interface Rendered {
  text: string;
  /** the variables the text names that were not given (or were null, or not renderable), once each, in order */
  missing: string[];
}

/** How {@link render} writes values. */
export interface RenderOptions {
  /** `html`: escape the template's text and the values for an HTML body; `none` (default): plain text as is */
  escape?: 'html' | 'none';
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `&`, `<`, `>`, `"` and `'` as entities: safe in element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/** A value as text; null when there is nothing to show (absent, null, an object, an invalid date). */
function valueText(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (Array.isArray(value)) {
        // one level only: a nested (or self-containing) array is not a value to show
        const parts = (value as unknown[]).map((item) => (typeof item === 'object' && item !== null && !(item instanceof Date) ? null : valueText(item)));
        return parts.filter((p): p is string => p !== null).join(', ');
      }
      return null;
    }
    case 'undefined':
    case 'symbol':
    case 'function':
      return null;
  }
}

/**
 * Replaces each `{{name}}` in `text` with `vars[name]` (own properties only), in one pass:
 * a value is never expanded again, so a customer named `{{orderNumber}}` stays literal. A
 * missing value renders as its `|default` when the placeholder has one, else as nothing and
 * is listed in `missing`. With `escape: 'html'` every character of the result, template
 * text and values alike, is escaped. Never throws.
 */
export function render(text: string, vars: Readonly<Record<string, unknown>>, options: RenderOptions = {}): Rendered {
  const escape = options.escape === 'html' ? escapeHtml : (s: string) => s;
  const missing: string[] = [];
  let out = '';
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const [whole, name = '', fallback] = match;
    const index = match.index;
    out += escape(text.slice(last, index));
    last = index + whole.length;
    const value = Object.hasOwn(vars, name) ? valueText(vars[name]) : null;
    if (value !== null) {
      out += escape(value);
    } else if (fallback !== undefined) {
      out += escape(fallback.trim());
    } else if (!missing.includes(name)) {
      missing.push(name);
    }
  }
  out += escape(text.slice(last));
  return { text: out, missing };
}

// --- remedies --------------------------------------------------------------------------------

/** What each remedy is called, per locale; the locale is chosen with {@link resolveLocale}. */
export const remedyLabels: Record<string, Record<Remedy, string>> = {
  en: {
    wait: 'wait for the stock',
    ship_available: 'receive what is in stock now',
    cancel: 'cancel the order',
    retry_payment: 'try the payment again',
    another_payment_method: 'pay with another payment method',
    correct_address: 'correct the delivery address',
    order_again: 'place the order again',
  },
  'zh-TW': {
    wait: '等候補貨',
    ship_available: '先寄出現有商品',
    cancel: '取消訂單',
    retry_payment: '重新付款',
    another_payment_method: '改用其他付款方式',
    correct_address: '更正收件地址',
    order_again: '重新下單',
  },
  'zh-CN': {
    wait: '等候补货',
    ship_available: '先发出现有商品',
    cancel: '取消订单',
    retry_payment: '重新支付',
    another_payment_method: '改用其他支付方式',
    correct_address: '更正收货地址',
    order_again: '重新下单',
  },
};

const remedyPhrases: Record<string, { heading: string; sentence: (list: string) => string }> = {
  en: { heading: 'What you can do:', sentence: (list) => `You can ${list}.` },
  'zh-TW': { heading: '您可以：', sentence: (list) => `您可以${list}。` },
  'zh-CN': { heading: '您可以：', sentence: (list) => `您可以${list}。` },
};

/** {@link renderRemedies}' answer. */
export interface RenderedRemedies {
  /** a heading and one `• ` line per remedy, for email bodies; empty without remedies */
  list: string;
  /** one sentence ("You can wait for the stock or cancel the order."), for SMS; empty without remedies */
  inline: string;
  /** the locale the labels are in */
  locale: string;
  /** codes with no label: shown as the code with spaces, and reported here */
  unknown: string[];
}

/** The remedies in the reader's language, as a list and as a sentence. */
export function renderRemedies(remedies: readonly string[], locale: string | null | undefined): RenderedRemedies {
  const chosen = resolveLocale(locale, Object.keys(remedyLabels)) ?? FALLBACK_LOCALE;
  const labels = remedyLabels[chosen] ?? remedyLabels[FALLBACK_LOCALE];
  const phrases = remedyPhrases[chosen] ?? remedyPhrases[FALLBACK_LOCALE];
  const unknown: string[] = [];
  const names = [...new Set(remedies)].map((code) => {
    const label = labels && Object.hasOwn(labels, code) ? labels[code as Remedy] : undefined;
    if (label !== undefined) return label;
    unknown.push(code);
    return code.replace(/_/g, ' ');
  });
  if (names.length === 0 || phrases === undefined) return { list: '', inline: '', locale: chosen, unknown };
  const joined = new Intl.ListFormat(chosen, { type: 'disjunction' }).format(names);
  return {
    list: [phrases.heading, ...names.map((n) => `• ${n}`)].join('\n'),
    inline: phrases.sentence(joined),
    locale: chosen,
    unknown,
  };
}

// --- default texts ---------------------------------------------------------------------------

const hello = { en: 'Hello {{customerName|there}},', tw: '{{customerName|顧客}} 您好：', cn: '{{customerName|顾客}}，您好：' };

/**
 * The built-in texts, in English, Traditional Chinese (Taiwan) and Simplified Chinese
 * (mainland China), for every template the pipeline asks for. Variables: `customerName`,
 * `orderNumber`, `reason` (the pipeline writes it in English, so only the English texts
 * quote it), `remedies` / `remediesInline` (filled by the composer), `carrier`,
 * `trackingCode`, `trackingUrl`, `reviewUrl`, `amount`. Config entries override them.
 */
export const defaultTemplates: Templates = {
  order_confirmed: {
    en: {
      subject: 'Order {{orderNumber}} confirmed',
      body: `${hello.en}\n\nThank you for your order {{orderNumber}}. We have received it and are getting it ready.\n\nWe will write again when it ships.`,
      sms: 'Order {{orderNumber}} confirmed. Thank you!',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 已確認',
      body: `${hello.tw}\n\n感謝您的訂購！我們已收到訂單 {{orderNumber}}，正在為您備貨。\n\n出貨時會再通知您。`,
      sms: '訂單 {{orderNumber}} 已確認，感謝您的訂購！',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 已确认',
      body: `${hello.cn}\n\n感谢您的订购！我们已收到订单 {{orderNumber}}，正在为您备货。\n\n发货时会再通知您。`,
      sms: '订单 {{orderNumber}} 已确认，感谢您的订购！',
    },
  },
  order_on_hold: {
    en: {
      subject: 'Order {{orderNumber}} needs attention',
      body: `${hello.en}\n\nYour order {{orderNumber}} is being reviewed: {{reason}}.\n\nWe will let you know as soon as it moves on.`,
      sms: 'Order {{orderNumber}} is being reviewed. We will be in touch.',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 審核中',
      body: `${hello.tw}\n\n您的訂單 {{orderNumber}} 正在審核中。\n\n審核完成後我們會立即通知您。`,
      sms: '訂單 {{orderNumber}} 審核中，完成後將通知您。',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 审核中',
      body: `${hello.cn}\n\n您的订单 {{orderNumber}} 正在审核中。\n\n审核完成后我们会立即通知您。`,
      sms: '订单 {{orderNumber}} 审核中，完成后将通知您。',
    },
  },
  order_rejected: {
    en: {
      subject: 'Order {{orderNumber}} could not be accepted',
      body: `${hello.en}\n\nWe are sorry: we could not accept your order {{orderNumber}} ({{reason}}).\n\n{{remedies}}`,
      sms: 'Order {{orderNumber}} could not be accepted. {{remediesInline}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 無法受理',
      body: `${hello.tw}\n\n很抱歉，我們無法受理您的訂單 {{orderNumber}}。\n\n{{remedies}}`,
      sms: '很抱歉，訂單 {{orderNumber}} 無法受理。{{remediesInline}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 无法受理',
      body: `${hello.cn}\n\n很抱歉，我们无法受理您的订单 {{orderNumber}}。\n\n{{remedies}}`,
      sms: '很抱歉，订单 {{orderNumber}} 无法受理。{{remediesInline}}',
    },
  },
  stock_shortage: {
    en: {
      subject: 'Order {{orderNumber}}: some items are out of stock',
      body: `${hello.en}\n\nSome items of your order {{orderNumber}} are out of stock right now ({{reason}}).\n\n{{remedies}}`,
      sms: 'Order {{orderNumber}}: some items are out of stock. {{remediesInline}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}}：部分商品缺貨',
      body: `${hello.tw}\n\n很抱歉，您的訂單 {{orderNumber}} 中有部分商品目前缺貨。\n\n{{remedies}}`,
      sms: '訂單 {{orderNumber}} 部分商品缺貨。{{remediesInline}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}}：部分商品缺货',
      body: `${hello.cn}\n\n很抱歉，您的订单 {{orderNumber}} 中有部分商品暂时缺货。\n\n{{remedies}}`,
      sms: '订单 {{orderNumber}} 部分商品缺货。{{remediesInline}}',
    },
  },
  payment_failed: {
    en: {
      subject: 'Order {{orderNumber}}: the payment did not go through',
      body: `${hello.en}\n\nWe could not take the payment for your order {{orderNumber}}: {{reason}}.\n\n{{remedies}}`,
      sms: 'Order {{orderNumber}}: the payment did not go through. {{remediesInline}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 付款未成功',
      body: `${hello.tw}\n\n您的訂單 {{orderNumber}} 付款未能完成。\n\n{{remedies}}`,
      sms: '訂單 {{orderNumber}} 付款未成功。{{remediesInline}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 支付未成功',
      body: `${hello.cn}\n\n您的订单 {{orderNumber}} 支付未能完成。\n\n{{remedies}}`,
      sms: '订单 {{orderNumber}} 支付未成功。{{remediesInline}}',
    },
  },
  payment_timeout: {
    en: {
      subject: 'Order {{orderNumber}} was cancelled',
      body: `${hello.en}\n\nWe did not receive the payment for your order {{orderNumber}} in time, so it was cancelled.\n\n{{remedies}}`,
      sms: 'Order {{orderNumber}} was cancelled: the payment did not arrive in time.',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 已取消',
      body: `${hello.tw}\n\n我們未在期限內收到訂單 {{orderNumber}} 的付款，因此訂單已取消。\n\n{{remedies}}`,
      sms: '訂單 {{orderNumber}} 因逾期未付款已取消。',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 已取消',
      body: `${hello.cn}\n\n我们未在规定时间内收到订单 {{orderNumber}} 的付款，因此订单已取消。\n\n{{remedies}}`,
      sms: '订单 {{orderNumber}} 因超时未支付已取消。',
    },
  },
  address_check: {
    en: {
      subject: 'Order {{orderNumber}}: please check your address',
      body: `${hello.en}\n\nWe need to check the delivery address of your order {{orderNumber}}: {{reason}}.\n\n{{remedies}}`,
      sms: 'Order {{orderNumber}}: please check your delivery address.',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}}：請確認收件地址',
      body: `${hello.tw}\n\n我們需要確認訂單 {{orderNumber}} 的收件地址，請協助核對。\n\n{{remedies}}`,
      sms: '訂單 {{orderNumber}}：請確認您的收件地址。',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}}：请确认收货地址',
      body: `${hello.cn}\n\n我们需要确认订单 {{orderNumber}} 的收货地址，请协助核对。\n\n{{remedies}}`,
      sms: '订单 {{orderNumber}}：请确认您的收货地址。',
    },
  },
  shipped: {
    en: {
      subject: 'Order {{orderNumber}} is on its way',
      body: `${hello.en}\n\nYour order {{orderNumber}} has shipped with {{carrier}} (tracking number {{trackingCode}}).\n\nTrack it here: {{trackingUrl}}`,
      sms: 'Order {{orderNumber}} has shipped. Track it: {{trackingUrl}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 已出貨',
      body: `${hello.tw}\n\n您的訂單 {{orderNumber}} 已交由 {{carrier}} 配送（追蹤編號 {{trackingCode}}）。\n\n查詢物流進度：{{trackingUrl}}`,
      sms: '訂單 {{orderNumber}} 已出貨，查詢物流：{{trackingUrl}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 已发货',
      body: `${hello.cn}\n\n您的订单 {{orderNumber}} 已交由 {{carrier}} 配送（运单号 {{trackingCode}}）。\n\n查看物流进度：{{trackingUrl}}`,
      sms: '订单 {{orderNumber}} 已发货，查看物流：{{trackingUrl}}',
    },
  },
  delayed: {
    en: {
      subject: 'Order {{orderNumber}} is delayed',
      body: `${hello.en}\n\nThe delivery of your order {{orderNumber}} is taking longer than planned ({{reason}}). We are sorry for the wait.\n\nTrack it here: {{trackingUrl}}`,
      sms: 'Order {{orderNumber}} is delayed. Track it: {{trackingUrl}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 配送延遲',
      body: `${hello.tw}\n\n很抱歉，您的訂單 {{orderNumber}} 配送時間比預期更久。\n\n查詢物流進度：{{trackingUrl}}`,
      sms: '訂單 {{orderNumber}} 配送延遲，查詢物流：{{trackingUrl}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 配送延迟',
      body: `${hello.cn}\n\n很抱歉，您的订单 {{orderNumber}} 配送时间比预期更长。\n\n查看物流进度：{{trackingUrl}}`,
      sms: '订单 {{orderNumber}} 配送延迟，查看物流：{{trackingUrl}}',
    },
  },
  delivered: {
    en: {
      subject: 'Order {{orderNumber}} was delivered',
      body: `${hello.en}\n\nYour order {{orderNumber}} was delivered. We hope you enjoy it!`,
      sms: 'Order {{orderNumber}} was delivered.',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 已送達',
      body: `${hello.tw}\n\n您的訂單 {{orderNumber}} 已送達，祝您使用愉快！`,
      sms: '訂單 {{orderNumber}} 已送達。',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 已送达',
      body: `${hello.cn}\n\n您的订单 {{orderNumber}} 已送达，祝您使用愉快！`,
      sms: '订单 {{orderNumber}} 已送达。',
    },
  },
  review_reminder: {
    en: {
      subject: 'How was your order {{orderNumber}}?',
      body: `${hello.en}\n\nWe hope your order {{orderNumber}} arrived well. Would you tell us what you think? It takes a minute: {{reviewUrl}}`,
      sms: 'How was order {{orderNumber}}? Tell us: {{reviewUrl}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 的商品還滿意嗎？',
      body: `${hello.tw}\n\n希望您對訂單 {{orderNumber}} 的商品感到滿意。歡迎花一分鐘留下評價：{{reviewUrl}}`,
      sms: '訂單 {{orderNumber}} 的商品還滿意嗎？歡迎留下評價：{{reviewUrl}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 的商品还满意吗？',
      body: `${hello.cn}\n\n希望您对订单 {{orderNumber}} 的商品感到满意。欢迎花一分钟留下评价：{{reviewUrl}}`,
      sms: '订单 {{orderNumber}} 的商品还满意吗？欢迎留下评价：{{reviewUrl}}',
    },
  },
  refund_issued: {
    en: {
      subject: 'Refund for order {{orderNumber}}',
      body: `${hello.en}\n\nWe have refunded {{amount}} for your order {{orderNumber}}. Depending on your bank, it can take a few days to show on your statement.`,
      sms: 'Order {{orderNumber}}: {{amount}} refunded.',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 退款通知',
      body: `${hello.tw}\n\n我們已退還訂單 {{orderNumber}} 的款項 {{amount}}。依發卡銀行作業時間，款項可能需要數個工作天才會入帳。`,
      sms: '訂單 {{orderNumber}} 已退款 {{amount}}。',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 退款通知',
      body: `${hello.cn}\n\n我们已退还订单 {{orderNumber}} 的款项 {{amount}}。根据银行处理时间，款项可能需要几个工作日才能到账。`,
      sms: '订单 {{orderNumber}} 已退款 {{amount}}。',
    },
  },
  return_approved: {
    en: {
      subject: 'Your return {{rmaId}} is approved',
      body: `${hello.en}\n\nYour return {{rmaId}} for order {{orderNumber}} is approved. We will send you the return label shortly; please pack the items with the return number on the parcel.`,
      sms: 'Return {{rmaId}} (order {{orderNumber}}) approved. The label follows.',
    },
    'zh-TW': {
      subject: '退貨申請 {{rmaId}} 已核准',
      body: `${hello.tw}\n\n您訂單 {{orderNumber}} 的退貨申請 {{rmaId}} 已核准。我們稍後會寄送退貨標籤給您，請將商品包裝妥當，並在包裹上註明退貨編號。`,
      sms: '退貨申請 {{rmaId}}（訂單 {{orderNumber}}）已核准，退貨標籤稍後寄出。',
    },
    'zh-CN': {
      subject: '退货申请 {{rmaId}} 已批准',
      body: `${hello.cn}\n\n您订单 {{orderNumber}} 的退货申请 {{rmaId}} 已批准。我们稍后会发送退货标签给您，请将商品包装好，并在包裹上注明退货编号。`,
      sms: '退货申请 {{rmaId}}（订单 {{orderNumber}}）已批准，退货标签稍后发送。',
    },
  },
  return_rejected: {
    en: {
      subject: 'Your return request for order {{orderNumber}}',
      body: `${hello.en}\n\nWe are sorry: we cannot accept return {{rmaId}} for order {{orderNumber}} ({{reason}}). Reply to this message if you think this is a mistake.`,
      sms: 'Return {{rmaId}} (order {{orderNumber}}) cannot be accepted: {{reason}}',
    },
    'zh-TW': {
      subject: '訂單 {{orderNumber}} 的退貨申請',
      body: `${hello.tw}\n\n很抱歉，我們無法受理訂單 {{orderNumber}} 的退貨申請 {{rmaId}}（{{reason}}）。如有疑問，請直接回覆此訊息。`,
      sms: '訂單 {{orderNumber}} 的退貨申請 {{rmaId}} 無法受理：{{reason}}',
    },
    'zh-CN': {
      subject: '订单 {{orderNumber}} 的退货申请',
      body: `${hello.cn}\n\n很抱歉，我们无法受理订单 {{orderNumber}} 的退货申请 {{rmaId}}（{{reason}}）。如有疑问，请直接回复此消息。`,
      sms: '订单 {{orderNumber}} 的退货申请 {{rmaId}} 无法受理：{{reason}}',
    },
  },
  return_label: {
    en: {
      subject: 'Your return label for {{rmaId}}',
      body: `${hello.en}\n\nHere is the {{carrier}} label for your return {{rmaId}} (order {{orderNumber}}): {{labelUrl}}\n\nPrint it, stick it on the parcel and hand it to {{carrier}}. Tracking number: {{trackingCode}}.`,
      sms: 'Return {{rmaId}}: your {{carrier}} label is at {{labelUrl}}',
    },
    'zh-TW': {
      subject: '退貨 {{rmaId}} 的退貨標籤',
      body: `${hello.tw}\n\n這是您退貨 {{rmaId}}（訂單 {{orderNumber}}）的 {{carrier}} 退貨標籤：{{labelUrl}}\n\n請列印後貼在包裹上，交給 {{carrier}}。追蹤編號：{{trackingCode}}。`,
      sms: '退貨 {{rmaId}} 的 {{carrier}} 退貨標籤：{{labelUrl}}',
    },
    'zh-CN': {
      subject: '退货 {{rmaId}} 的退货标签',
      body: `${hello.cn}\n\n这是您退货 {{rmaId}}（订单 {{orderNumber}}）的 {{carrier}} 退货标签：{{labelUrl}}\n\n请打印后贴在包裹上，交给 {{carrier}}。运单号：{{trackingCode}}。`,
      sms: '退货 {{rmaId}} 的 {{carrier}} 退货标签：{{labelUrl}}',
    },
  },
  // A person at the shop writes to the customer about an order (the exception desk's
  // `contact_customer`); `message` is their text, in whatever language they wrote it.
  message_from_shop: {
    en: {
      subject: 'About your order {{orderNumber}}',
      body: `${hello.en}\n\n{{message}}\n\nIf you have any questions, just reply to this message.`,
      sms: 'Order {{orderNumber}}: {{message}}',
    },
    'zh-TW': {
      subject: '關於您的訂單 {{orderNumber}}',
      body: `${hello.tw}\n\n{{message}}\n\n如有任何疑問，請直接回覆此訊息。`,
      sms: '訂單 {{orderNumber}}：{{message}}',
    },
    'zh-CN': {
      subject: '关于您的订单 {{orderNumber}}',
      body: `${hello.cn}\n\n{{message}}\n\n如有任何疑问，请直接回复此消息。`,
      sms: '订单 {{orderNumber}}：{{message}}',
    },
  },
};
