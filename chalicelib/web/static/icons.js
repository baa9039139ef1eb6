// Lucide's icons (static/lucide-*.svg), the buttons both pages build from them, and the
// plain element they start from. An icon is a CSS mask (app.css), so it takes the colour
// of the text around it in either theme.

/** An HTML element with a class and its text (never markup). */
export function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** A decorative icon by its Lucide name; the button or text beside it carries the words. */
export function icon(name) {
  const glyph = document.createElement("span");
  glyph.className = `icon icon-${name}`;
  glyph.setAttribute("aria-hidden", "true");
  return glyph;
}

/** A button that shows only an icon; `label` is its accessible name and tooltip. */
export function iconButton(name, label, className = "") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `icon-button ${className}`.trim();
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(name));
  return button;
}

/** A button with an icon before its text. */
export function labelledButton(name, text, onClick, className = "") {
  const button = document.createElement("button");
  button.type = "button";
  if (className) button.className = className;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = text;
  button.append(icon(name), " ", label);
  button.addEventListener("click", onClick);
  return button;
}

/** A button that asks first: its first click turns it into "confirm", the second acts. */
export function confirmButton(icon, text, confirmText, act) {
  const node = labelledButton(icon, text, () => {
    if (node.dataset.armed) {
      act();
      return;
    }
    node.dataset.armed = "yes";
    node.classList.add("danger");
    node.querySelector(".label").textContent = confirmText;
  });
  // Leaving the button (Tab, a click elsewhere) takes the question back.
  node.addEventListener("blur", () => {
    delete node.dataset.armed;
    node.classList.remove("danger");
    node.querySelector(".label").textContent = text;
  });
  return node;
}

/**
 * Copy `text`, and say how it went on the button for two seconds: its icon turns into a
 * check, and its words (or, for an icon-only button, its accessible name) say "Copied".
 * Without clipboard permission, `field`'s text is left selected, ready for Ctrl+C.
 */
export async function copyText(text, button, field = null) {
  const glyph = button.querySelector(".icon");
  const label = button.querySelector(".label");
  const before = { words: label?.textContent, name: button.getAttribute("aria-label") };
  const say = (words) => (label ? (label.textContent = words) : button.setAttribute("aria-label", words));
  field?.select();
  try {
    await navigator.clipboard.writeText(text);
    button.dataset.copied = "yes";
    glyph?.classList.replace("icon-copy", "icon-check");
    say("Copied");
  } catch {
    say(field ? "Press Ctrl+C" : "Copy failed");
  }
  setTimeout(() => {
    delete button.dataset.copied;
    glyph?.classList.replace("icon-check", "icon-copy");
    if (label) label.textContent = before.words;
    else if (before.name) button.setAttribute("aria-label", before.name);
  }, 2000);
}
