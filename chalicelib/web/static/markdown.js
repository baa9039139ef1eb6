// A small, safe Markdown renderer for the model's replies, which are untrusted text.
// It builds DOM nodes and sets only textContent and vetted href values: no HTML string
// is ever parsed, so raw HTML in a reply shows as text. Supported: fenced code blocks,
// headings, lists, block quotes, paragraphs, `code`, **bold**, *italic*, links.

const FENCE = /^\s*(```|~~~)\s*([\w+-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
// Alternatives, in priority order: code span, bold, link (its URL may hold one level of
// parentheses, as Wikipedia's do), bare URL, italic.
const INLINE =
  /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|\[([^\]\n]+)\]\(\s*((?:[^()\s]|\([^()\s]*\))+)\s*\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])|\*([^*\s](?:[^*]*[^*\s])?)\*|\b_([^_\s](?:[^_]*[^_\s])?)_\b/;

/** The URL if it is an absolute http(s) URL, else null (javascript:, data:, relative...). */
export function safeUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function link(href) {
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.rel = "noopener noreferrer";
  anchor.target = "_blank";
  return anchor;
}

function element(tag, children) {
  const node = document.createElement(tag);
  node.append(...children);
  return node;
}

/** Append the inline Markdown of one text span to a parent node. */
export function appendInline(parent, text) {
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      parent.append(rest);
      return;
    }
    if (match.index > 0) parent.append(rest.slice(0, match.index));
    const [whole, , code, bold, label, target, bare, italic, underscored] = match;
    if (code !== undefined) {
      const node = document.createElement("code");
      node.textContent = code.trim() ? code.replace(/^ (.*) $/s, "$1") : code;
      parent.append(node);
    } else if (bold !== undefined) {
      const node = document.createElement("strong");
      appendInline(node, bold);
      parent.append(node);
    } else if (label !== undefined) {
      const href = safeUrl(target);
      // An unsafe target keeps its label as plain text and loses the link.
      const into = href ? link(href) : parent;
      appendInline(into, label);
      if (href) parent.append(into);
    } else if (bare !== undefined) {
      const href = safeUrl(bare);
      const anchor = href ? link(href) : null;
      // A bare URL is its own label, as text: parsing it again would find it again.
      if (anchor) anchor.textContent = bare;
      parent.append(anchor || bare);
    } else {
      const node = document.createElement("em");
      appendInline(node, italic ?? underscored);
      parent.append(node);
    }
    rest = rest.slice(match.index + whole.length);
  }
}

function paragraph(lines) {
  const node = document.createElement("p");
  lines.forEach((line, index) => {
    if (index > 0) node.append(document.createElement("br"));
    appendInline(node, line);
  });
  return node;
}

function listItems(list, lines, start, pattern, group) {
  let index = start;
  while (index < lines.length) {
    const match = pattern.exec(lines[index]);
    if (match) {
      list.append(element("li", []));
      appendInline(list.lastChild, match[group]);
    } else if (/^\s{2,}\S/.test(lines[index]) && list.lastChild) {
      // An indented line continues the item above it.
      list.lastChild.append(document.createElement("br"));
      appendInline(list.lastChild, lines[index].trim());
    } else {
      break;
    }
    index += 1;
  }
  return index;
}

/** A fragment holding the rendered Markdown; an unclosed fence runs to the end (streaming). */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let index = 0;
  let para = [];
  const flush = () => {
    if (para.length) fragment.append(paragraph(para));
    para = [];
  };
  while (index < lines.length) {
    const line = lines[index];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const body = [];
      index += 1;
      while (index < lines.length && lines[index].trim() !== fence[1]) {
        body.push(lines[index]);
        index += 1;
      }
      index += 1;
      const code = document.createElement("code");
      code.textContent = body.join("\n");
      if (fence[2]) code.dataset.language = fence[2];
      fragment.append(element("pre", [code]));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      // Replies sit under the page's own headings, so theirs start at h3.
      const node = document.createElement(`h${Math.min(heading[1].length + 2, 6)}`);
      appendInline(node, heading[2]);
      fragment.append(node);
      index += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      flush();
      const numbered = NUMBERED.exec(line);
      const list = document.createElement(numbered ? "ol" : "ul");
      if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
      index = listItems(list, lines, index, numbered ? NUMBERED : BULLET, numbered ? 2 : 1);
      fragment.append(list);
      continue;
    }
    if (QUOTE.test(line)) {
      flush();
      const quoted = [];
      while (index < lines.length && QUOTE.test(lines[index])) {
        quoted.push(QUOTE.exec(lines[index])[1]);
        index += 1;
      }
      fragment.append(element("blockquote", [paragraph(quoted)]));
      continue;
    }
    if (line.trim()) para.push(line);
    else flush();
    index += 1;
  }
  flush();
  return fragment;
}
