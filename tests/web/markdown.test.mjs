// Unit tests of web/assets/markdown.js, the note renderer whose output goes to innerHTML.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown, escapeHtml } from '../../web/assets/markdown.js';

const md = renderMarkdown;

// ---- the safety check every output must pass ----

const PLAIN_TAGS = new Set(['p', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'code', 'pre', 'ul', 'ol',
  'li', 'blockquote', 'hr']);
const VOID_TAGS = new Set(['hr']);
const ANCHOR = /^ href="([^"<>]*)" rel="noopener noreferrer nofollow" target="_blank"$/;

function decode(s) {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);
}

/**
 * Throws unless html holds only the renderer's own tags: the plain ones without attributes,
 * and <a> with exactly href (http, https or mailto), rel and target. Text between tags has no
 * raw < > " ' and only the five entities escapeHtml writes; tags nest properly and <a> never
 * sits inside <a>. Returns the decoded hrefs. With loose, <em> and <strong> only have to
 * balance in number, not nest (the renderer leaves **a *b** c* to the browser to repair).
 */
function assertSafe(html, src, { loose = false } = {}) {
  const fail = (msg) => assert.fail(`${msg}\n  source: ${JSON.stringify(src)}\n  output: ${JSON.stringify(html)}`);
  const TAG = /<(\/?)([a-z][a-z0-9]*)([^<>]*)>/y;
  const ENT = /&(amp|lt|gt|quot|#39);/y;
  const entityAt = (str, j) => { ENT.lastIndex = j; return ENT.exec(str); };
  const hrefs = [];
  const stack = [];
  const emphasis = { em: 0, strong: 0 };
  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === '<') {
      TAG.lastIndex = i;
      const m = TAG.exec(html);
      if (!m) fail(`stray '<' at ${i}`);
      const [whole, close, tag, attrs] = m;
      if (loose && tag in emphasis) {
        if (attrs) fail(`attributes on <${tag}>`);
        emphasis[tag] += close ? -1 : 1;
      } else if (close) {
        if (attrs) fail(`attributes on </${tag}>`);
        if (stack.pop() !== tag) fail(`</${tag}> closes something else`);
      } else if (tag === 'a') {
        const a = ANCHOR.exec(attrs);
        if (!a) fail(`unexpected <a> attributes ${JSON.stringify(attrs)}`);
        if (stack.includes('a')) fail('<a> inside <a>');
        for (let j = 0; j < a[1].length;) {
          if (a[1][j] !== '&') { j++; continue; }
          const e = entityAt(a[1], j);
          if (!e) fail('bad entity in href');
          j += e[0].length;
        }
        const href = decode(a[1]);
        if (!/^(https?:\/\/|mailto:)/i.test(href)) fail(`unsafe href ${JSON.stringify(href)}`);
        if (/[\s\u0000-\u001f]/.test(href)) fail('space or control character in href');
        hrefs.push(href);
        stack.push('a');
      } else {
        if (!PLAIN_TAGS.has(tag)) fail(`unexpected tag <${tag}>`);
        if (attrs) fail(`attributes on <${tag}>`);
        if (!VOID_TAGS.has(tag)) stack.push(tag);
      }
      i += whole.length;
    } else if (c === '&') {
      const e = entityAt(html, i);
      if (!e) fail(`raw '&' at ${i}`);
      i += e[0].length;
    } else {
      if ('>"\'\u0000'.includes(c)) fail(`raw ${JSON.stringify(c)} in text at ${i}`);
      i++;
    }
  }
  if (stack.length) fail(`unclosed tags ${stack.join(', ')}`);
  if (emphasis.em || emphasis.strong) fail('unbalanced emphasis');
  return hrefs;
}

function safe(src) {
  const html = md(src);
  assertSafe(html, src);
  return html;
}

// ---- escaping ----

test('escapeHtml escapes the five characters and nothing else', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  assert.equal(escapeHtml('plain *text* ü'), 'plain *text* ü');
  assert.equal(escapeHtml(42), '42');
});

test('empty, null and undefined notes render as nothing', () => {
  assert.equal(md(''), '');
  assert.equal(md(null), '');
  assert.equal(md(undefined), '');
  assert.equal(md('\n\n  \n'), '');
});

// ---- XSS payloads: all come out as text ----

const PAYLOADS = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg/onload=alert(1)>',
  '"><script>alert(1)</script>',
  "'><img src=x onerror=alert(1)>",
  '<a href="javascript:alert(1)">x</a>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '</p><script>alert(1)</script><p>',
  '<!-- comment --><style>*{}</style>',
  '&lt;script&gt; already escaped',
  '&#60;script&#62;alert(1)&#60;/script&#62;',
  '<scr<script>ipt>alert(1)</script>',
  '`<script>alert(1)</script>`',
  '```\n<script>alert(1)</script>\n```',
  '# <script>alert(1)</script>',
  '> <img src=x onerror=alert(1)>',
  '- <b onmouseover=alert(1)>x</b>',
  '**<script>**',
  '*<img src=x onerror=alert(1)>*',
];

for (const p of PAYLOADS) {
  test(`payload stays text: ${p}`, () => {
    const html = safe(p);
    assert.doesNotMatch(html, /<(script|img|svg|iframe|style|b)\b/i);
    assert.doesNotMatch(html, /<[^>]*\son\w+=/i);
  });
}

test('raw HTML comes out escaped, character for character', () => {
  assert.equal(md('<script>alert("x")</script>'), '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
  assert.equal(md("it's <b>"), '<p>it&#39;s &lt;b&gt;</p>');
});

// ---- links ----

test('http, https and mailto links become anchors with rel and target', () => {
  assert.equal(md('[docs](https://example.com/a?b=1&c=2)'),
    '<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">docs</a></p>');
  assert.deepEqual(assertSafe(md('[a](http://x.test) [b](mailto:ops@example.com) [c](HTTPS://X.TEST)'), ''),
    ['http://x.test', 'mailto:ops@example.com', 'HTTPS://X.TEST']);
});

for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'jav&#x09;ascript:alert(1)',
  'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', '//evil.test/x', '/relative',
  'file:///etc/passwd', 'javascript://%0aalert(1)', 'java\tscript:alert(1)', 'https:evil', 'http:/x']) {
  test(`link target refused: ${JSON.stringify(url)}`, () => {
    const html = safe(`[click](${url})`);
    assert.doesNotMatch(html, /<a /);
    assert.match(html, /\[click\]/); // left as text
  });
}

test('quotes in a link URL or text cannot leave the attribute', () => {
  for (const src of [
    '[x](https://e.test/"onmouseover="alert(1))',
    "[x](https://e.test/'onmouseover='alert(1))",
    '[x](https://e.test/"><script>alert(1)</script>)',
    '["onmouseover="alert(1)](https://e.test/)',
    '[<img src=x onerror=alert(1)>](https://e.test/)',
    'https://e.test/"onmouseover="alert(1)',
    'https://e.test/"><script>alert(1)</script>',
  ]) {
    const html = safe(src); // <a> has exactly href, rel and target
    assert.doesNotMatch(html, /<script/i, src);
  }
  assert.deepEqual(assertSafe(md('[x](https://e.test/"onmouseover="alert(1))'), ''),
    ['https://e.test/"onmouseover="alert(1']);
});

test('security-review F13: a URL inside a link URL cannot inject attributes', () => {
  // The review's reproduction: the bare-URL rule matched inside the first link's href and the
  // template's quote became part of a second URL, adding id/hidden/download/... to the <a>.
  const src = '[t](https://a.com/(https://x/id=pwn/hidden/download=evil.exe/referrerpolicy=unsafe-url/onclick=alert&#40;1&#41;"")';
  const html = safe(src); // exactly one <a> with exactly href, rel and target
  assert.equal((html.match(/<a /g) || []).length, 1, html);
  for (const attr of ['id=', 'hidden', 'download', 'referrerpolicy', 'onclick']) {
    const tag = html.match(/<a [^>]*>/)[0];
    assert.ok(!new RegExp(`\\s${attr}`).test(tag.replace(/href="[^"]*"/, '')), `${attr} in ${tag}`);
  }
  for (const s2 of ['[t](https://a.com/(https://x/"onclick=1)', '[**t**](https://a.com/_x_(https://y/*z*))',
    'https://a.com/(https://x/"id=pwn)', '*[t](https://a.com/*x*)* _https://b.com/_y__']) safe(s2);
});

test('bare https:// URLs become links; other schemes do not', () => {
  assert.equal(md('see https://example.com/x for more'),
    '<p>see <a href="https://example.com/x" rel="noopener noreferrer nofollow" target="_blank">https://example.com/x</a> for more</p>');
  assert.deepEqual(assertSafe(md('(http://a.test) https://b.test'), ''), ['http://a.test', 'https://b.test']);
  assert.doesNotMatch(safe('javascript:alert(1) ftp://x.test'), /<a /);
  assert.doesNotMatch(safe('xhttps://example.com'), /<a /);
});

test('a URL in link text does not nest a second anchor', () => {
  const html = safe('[see https://b.test](https://a.test)');
  assert.deepEqual(assertSafe(html, ''), ['https://a.test']);
  assert.match(html, />see https:\/\/b\.test<\/a>/);
});

test('emphasis characters inside URLs stay in the URL', () => {
  assert.deepEqual(assertSafe(md('https://e.test/_a_/b'), ''), ['https://e.test/_a_/b']);
  assert.deepEqual(assertSafe(md('[x](https://e.test/*a*/**b**)'), ''), ['https://e.test/*a*/**b**']);
  assert.deepEqual(assertSafe(md('[x](https://e.test/__init__)'), ''), ['https://e.test/__init__']);
});

test('text after a link cannot reach into the link markup', () => {
  // The anchor's own target="_blank" once opened an <em> that a later "_" closed.
  for (const src of ['[a](https://e.test) see (x_)', '[a](https://e.test) b_', 'https://e.test c_']) {
    const html = safe(src);
    assert.match(html, /target="_blank"/, src);
    assert.doesNotMatch(html, /<em>/, src);
  }
});

test('emphasis and code in link text', () => {
  assert.equal(md('[**bold** and `code`](https://e.test)'),
    '<p><a href="https://e.test" rel="noopener noreferrer nofollow" target="_blank"><strong>bold</strong> and <code>code</code></a></p>');
  assert.equal(md('*see [a](https://e.test)*'),
    '<p><em>see <a href="https://e.test" rel="noopener noreferrer nofollow" target="_blank">a</a></em></p>');
});

// ---- emphasis and code ----

test('bold, italic and nested emphasis', () => {
  assert.equal(md('**bold** *it* _it_'), '<p><strong>bold</strong> <em>it</em> <em>it</em></p>');
  assert.equal(md('**bold with *italic* inside**'), '<p><strong>bold with <em>italic</em> inside</strong></p>');
  assert.equal(md('*italic with **bold** inside*'), '<p><em>italic with <strong>bold</strong> inside</em></p>');
  assert.equal(md('_a *b* c_'), '<p><em>a <em>b</em> c</em></p>');
});

test('snake_case, 2*3*4 and lone markers stay literal', () => {
  assert.equal(md('snake_case_name and 2*3*4'), '<p>snake_case_name and 2*3*4</p>');
  assert.equal(md('a * b and c _ d'), '<p>a * b and c _ d</p>');
  assert.equal(md('**not closed'), '<p>**not closed</p>');
});

test('code spans keep their content literal', () => {
  assert.equal(md('run `*not em* _no_ **no**` now'), '<p>run <code>*not em* _no_ **no**</code> now</p>');
  assert.equal(md('`[x](https://e.test)`'), '<p><code>[x](https://e.test)</code></p>');
  assert.equal(md('`a` and `b`'), '<p><code>a</code> and <code>b</code></p>');
  assert.equal(md('`<b>&`'), '<p><code>&lt;b&gt;&amp;</code></p>');
});

test('NUL characters in a note cannot forge code-span placeholders', () => {
  const html = safe('x\u00000\u0000y `c` \u00007\u0000');
  assert.doesNotMatch(html, /undefined/);
  assert.equal((html.match(/<code>/g) || []).length, 1);
});

// ---- blocks ----

test('headings shift down two levels and stop at h6', () => {
  assert.equal(md('# One'), '<h3>One</h3>');
  assert.equal(md('## Two'), '<h4>Two</h4>');
  assert.equal(md('#### Four\n###### Six'), '<h6>Four</h6>\n<h6>Six</h6>');
  assert.equal(md('#no space'), '<p>#no space</p>');
  assert.equal(md('####### seven'), '<p>####### seven</p>');
});

test('paragraphs join lines; blank lines split them', () => {
  assert.equal(md('a\nb\r\n\r\nc'), '<p>a b</p>\n<p>c</p>');
});

test('lists, quotes, rules and fences', () => {
  assert.equal(md('- a\n* b\n+ c'), '<ul><li>a</li><li>b</li><li>c</li></ul>');
  assert.equal(md('1. one\n2) two\n   more'), '<ol><li>one</li><li>two more</li></ol>');
  assert.equal(md('- a\n1. b'), '<ul><li>a</li></ul>\n<ol><li>b</li></ol>');
  assert.equal(md('> quoted\n> text'), '<blockquote><p>quoted text</p></blockquote>');
  assert.equal(md('---\n* * *\n___'), '<hr>\n<hr>\n<hr>');
  assert.equal(md('```\n**x** <y>\n\n```\nafter'), '<pre><code>**x** &lt;y&gt;\n</code></pre>\n<p>after</p>');
  assert.equal(md('```\nunclosed'), '<pre><code>unclosed</code></pre>');
});

// ---- many odd inputs, one rule: the output is safe ----

test('random mixes of markup characters always render safely', () => {
  const pieces = ['<', '>', '"', "'", '&', '*', '**', '_', '`', '[', ']', '(', ')', '](', '#', '# ', '> ',
    '- ', '1. ', '```', '---', '\n', '\n\n', ' ', 'a', 'b_c', 'https://e.test/', 'http://', 'mailto:x@y',
    'javascript:', 'onerror=', '<script>', '</a>', '&amp;', '&#39;', '\u0000', '\u00000\u0000', '\t', '\r\n'];
  let seed = 0x7157;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
  for (let round = 0; round < 5000; round++) {
    let src = '';
    for (let k = 1 + rnd(24); k > 0; k--) src += pieces[rnd(pieces.length)];
    const html = md(src);
    // Nesting of overlapping emphasis (**a *b** c*) is left to the browser; the rest holds.
    assertSafe(html, src, { loose: true });
  }
});

test('a link to an IPv6 literal keeps its brackets', () => {
  assert.deepEqual(assertSafe(md('[router](http://[2001:db8::1]:8080/)'), ''), ['http://[2001:db8::1]:8080/']);
});

test('a note of 64 KiB (the server cap) of repeated markup renders in linear time', () => {
  // "[a](" repeated once took seconds: the link rule rescanned the rest of the line from every "[".
  for (const p of ['[', '[a', '[a](', '[a](https://x', '](', '**', '**a*', '*a', '_a', '`a', 'https://', '- ', '# ']) {
    const src = p.repeat(Math.ceil(65536 / p.length)).slice(0, 65536);
    const t = performance.now();
    safe(src);
    const ms = performance.now() - t;
    assert.ok(ms < 2000, `${JSON.stringify(p)} x ${src.length / p.length}: ${ms.toFixed(0)} ms`);
  }
});
