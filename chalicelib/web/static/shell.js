// The chat page's frame: the past chats' drawer, the header's menu, and the composer
// (a box that grows with its text, a placeholder that fits the device).
const $ = (id) => document.getElementById(id);
const WIDE = window.matchMedia("(min-width: 60rem)");
/** A touch screen: Enter adds a line there, and the send button sends. */
export const TOUCH = window.matchMedia("(pointer: coarse)").matches;

function setDrawer(open) {
  const page = document.body;
  page.dataset.sidebar = open ? "open" : "closed";
  $("toggle-sidebar").setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !open || WIDE.matches;
  // On a phone the open drawer is modal: the chat behind it takes no focus and no clicks,
  // so Tab stays in the drawer.
  document.querySelector(".chat-column").inert = open && !WIDE.matches;
}

/** Close the drawer on a phone (it covers the chat); on a wide screen it stays. */
export function closeDrawerOnPhone() {
  if (!WIDE.matches) setDrawer(false);
}

function setMenu(open) {
  $("chat-menu").hidden = !open;
  $("menu-button").setAttribute("aria-expanded", String(open));
}

function grow() {
  const box = $("message");
  box.style.height = "";
  if (!box.value) return; // one line, as its rows say
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, window.innerHeight * 0.4)}px`;
}

/** Fit the message box to its text again (after the page changed its value). */
export const fitComposer = grow;

export function wireShell() {
  setDrawer(WIDE.matches);
  WIDE.addEventListener("change", () => setDrawer(WIDE.matches));
  $("toggle-sidebar").addEventListener("click", () => {
    setDrawer(document.body.dataset.sidebar !== "open");
    if (document.body.dataset.sidebar === "open" && !WIDE.matches) $("close-sidebar").focus();
  });
  $("close-sidebar").addEventListener("click", () => {
    setDrawer(false);
    $("toggle-sidebar").focus();
  });
  $("scrim").addEventListener("click", () => {
    setDrawer(false);
    $("toggle-sidebar").focus();
  });

  $("menu-button").addEventListener("click", () => setMenu($("chat-menu").hidden));
  document.addEventListener("click", (event) => {
    if (!$("chat-menu").hidden && !event.target.closest(".menu-wrap")) setMenu(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("chat-menu").hidden) {
      setMenu(false);
      $("menu-button").focus();
    } else if (document.body.dataset.sidebar === "open" && !WIDE.matches) {
      setDrawer(false);
      $("toggle-sidebar").focus();
    }
  });

  const box = $("message");
  // The keys are worth a word only where there is a keyboard and room to say it.
  const roomy = window.matchMedia("(min-width: 40rem)");
  const fit = () => {
    box.placeholder = TOUCH || !roomy.matches ? "Message" : "Message (Enter sends, Shift+Enter adds a line)";
  };
  fit();
  roomy.addEventListener("change", fit);
  box.addEventListener("input", grow);
  grow();
}

/** Close the header's menu (after one of its actions ran). */
export const closeMenu = () => setMenu(false);
