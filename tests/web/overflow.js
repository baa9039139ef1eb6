// Runs in the page under test (tests/web/checks.py): what sticks out horizontally.
// An element is reported when its box goes past the viewport's left or right edge, or past
// its parent's box (unless an ancestor scrolls), or when a block's own content is wider
// than its box; a <select> when its widest option's name does not fit, since the closed
// menu would cut it. Hidden, absolutely placed and visually-hidden elements are skipped.
const slack = 1;
const width = document.documentElement.clientWidth;
const found = [];
const describe = (el) => {
  let name = el.tagName.toLowerCase();
  if (el.id) name += '#' + el.id;
  const cls = typeof el.className === 'string' ? el.className.trim() : '';
  if (cls) name += '.' + cls.split(/\s+/).join('.');
  const text = (el.tagName === 'SELECT' ? el.value : el.innerText || el.value || '').trim().slice(0, 40);
  return text ? `${name} "${text}"` : name;
};
const shown = (el) => {
  const style = getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden') return false;
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
};
const offFlow = (el) => {
  for (let node = el; node && node !== document.body; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.position === 'fixed' || style.position === 'absolute') return true;
    if (style.clipPath !== 'none' || node.getBoundingClientRect().width <= 1) return true;
  }
  return false;
};
const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const insideScroller = (el) => {
  for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
    if (scrolls(node)) return true;
  }
  return false;
};
const canvas = document.createElement('canvas').getContext('2d');
for (const el of document.body.querySelectorAll('*')) {
  if (['SCRIPT', 'STYLE', 'OPTION', 'BR'].includes(el.tagName) || !shown(el) || offFlow(el)) continue;
  if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
  const box = el.getBoundingClientRect();
  if (!insideScroller(el) && (box.right > width + slack || box.left < -slack)) {
    found.push({element: describe(el), problem: 'viewport', left: box.left, right: box.right, limit: width});
    continue;
  }
  const parent = el.parentElement;
  if (parent && parent !== document.body && !scrolls(parent) && !insideScroller(el)) {
    const outer = parent.getBoundingClientRect();
    if (box.right > outer.right + slack || box.left < outer.left - slack) {
      found.push({element: describe(el), problem: 'container', container: describe(parent),
                  left: box.left, right: box.right, limit: outer.right});
      continue;
    }
  }
  const style = getComputedStyle(el);
  const block = !style.display.startsWith('inline') || style.display === 'inline-block' || style.display === 'inline-flex';
  const own = ['INPUT', 'TEXTAREA', 'SELECT', 'svg'].includes(el.tagName) || scrolls(el);
  if (block && !own && el.scrollWidth > el.clientWidth + slack && el.clientWidth > 0) {
    found.push({element: describe(el), problem: 'content', width: el.scrollWidth, limit: el.clientWidth});
    continue;
  }
  if (el.tagName === 'SELECT') {
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const widest = Math.max(0, ...[...el.options].map((o) => canvas.measureText(o.text).width));
    // The room for text: the box less its padding, borders and the arrow (about 1.2em).
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
      - 1.2 * parseFloat(style.fontSize);
    if (widest > room + slack) {
      found.push({element: describe(el), problem: 'menu', width: widest, limit: room});
    }
  }
}
return found;
