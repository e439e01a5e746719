// markdown.js - a small, safe Markdown subset for site notes.
// The text is HTML-escaped first; only then are the few constructs below turned into tags,
// so nothing the author wrote can become markup. Links keep http(s) and mailto only.
//
// Supported: # headings (1-6), paragraphs, blank-line breaks, **bold**, *italic* / _italic_,
// `code`, ``` fenced code blocks ```, - / * / + bullet lists, 1. numbered lists, > quotes,
// --- rules, [text](url) links and bare https:// URLs.

export function escapeHtml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const SAFE_URL = /^(https?:\/\/|mailto:)[^\s]*$/i;

// No rule ever scans markup a rule produced (security-review F13: the bare-URL rule once
// matched inside a link's own href and broke out of its quotes). Every tag the renderer
// writes - code spans, anchors, and the <strong>/<em> tags themselves - waits in `held`
// behind a \u0000n\u0000 placeholder, and the later rules only ever see the author's
// (escaped) text and placeholders: no emphasis inside a URL or in the anchor's attributes,
// no second anchor inside a link's text or href. Only the final restore() puts the tags in.
// renderMarkdown drops any \u0000 in the source first, so a note cannot forge a placeholder.
function inline(escaped) {
  const held = [];
  const hold = (html) => { held.push(html); return `\u0000${held.length - 1}\u0000`; };
  const wrap = (tag, inner) => `${hold(`<${tag}>`)}${inner}${hold(`</${tag}>`)}`;
  const emphasis = (t) => t
    .replace(/\*\*((?:[^*]|\*(?!\*))+)\*\*/g, (_, x) => wrap('strong', x))
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, (_, pre, x) => `${pre}${wrap('em', x)}`)
    .replace(/(^|[^\w])_([^_\s][^_]*)_(?!\w)/g, (_, pre, x) => `${pre}${wrap('em', x)}`);
  const anchor = (url, text) => hold(`<a href="${url}" rel="noopener noreferrer nofollow" target="_blank">${text}</a>`);
  let s = escaped.replace(/`([^`]+)`/g, (_, c) => hold(`<code>${c}</code>`));
  s = s.replace(/\[([^[\]]+)\]\(((?:(?!\]\()[^)\s\u0000])+)\)/g, (m, text, url) => (SAFE_URL.test(url) ? anchor(url, emphasis(text)) : m));
  s = s.replace(/(^|[\s(])(https?:\/\/[^\s<)\u0000]+)/g, (m, pre, url) => `${pre}${anchor(url, url)}`);
  s = emphasis(s);
  const restore = (t) => t.replace(/\u0000(\d+)\u0000/g, (_, i) => restore(held[Number(i)]));
  return restore(s);
}

/** Markdown text -> HTML string that is safe to assign to innerHTML. */
export function renderMarkdown(src) {
  const lines = escapeHtml(src || '').replace(/\u0000/g, '').replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let para = [];
  let list = null; // {tag, items}
  let quote = [];
  const flushPara = () => { if (para.length) { out.push(`<p>${inline(para.join(' '))}</p>`); para = []; } };
  const flushList = () => {
    if (list) { out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`); list = null; }
  };
  const flushQuote = () => { if (quote.length) { out.push(`<blockquote><p>${inline(quote.join(' '))}</p></blockquote>`); quote = []; } };
  const flushAll = () => { flushPara(); flushList(); flushQuote(); };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flushAll();
      const code = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      out.push(`<pre><code>${code.join('\n')}</code></pre>`);
      continue;
    }
    let m;
    if (/^\s*$/.test(line)) { flushAll(); continue; }
    if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      flushAll();
      // Note headings sit inside a page that has h1/h2: shift them down two levels.
      const lvl = Math.min(6, m[1].length + 2);
      out.push(`<h${lvl}>${inline(m[2])}</h${lvl}>`);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flushAll(); out.push('<hr>'); continue; }
    if ((m = /^&gt;\s?(.*)$/.exec(line))) { flushPara(); flushList(); quote.push(m[1]); continue; }
    if ((m = /^\s*[-*+]\s+(.*)$/.exec(line))) {
      flushPara(); flushQuote();
      if (!list || list.tag !== 'ul') { flushList(); list = { tag: 'ul', items: [] }; }
      list.items.push(m[1]);
      continue;
    }
    if ((m = /^\s*\d+[.)]\s+(.*)$/.exec(line))) {
      flushPara(); flushQuote();
      if (!list || list.tag !== 'ol') { flushList(); list = { tag: 'ol', items: [] }; }
      list.items.push(m[1]);
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) { list.items[list.items.length - 1] += ` ${line.trim()}`; continue; }
    flushList(); flushQuote();
    para.push(line.trim());
  }
  flushAll();
  return out.join('\n');
}
