// The studio's preview: the share link's first screen (title, greeting, starters) as a
// visitor will see it, redrawn as the creator types. The creator's words are text only.
const $ = (id) => document.getElementById(id);
const STARTERS = ["starter-1", "starter-2", "starter-3", "starter-4"];

function draw() {
  $("preview-title").textContent = $("title").value.trim() || "Your agent's title";
  $("preview-title").classList.toggle("placeholder", !$("title").value.trim());
  const greeting = $("greeting").value.trim();
  $("preview-greeting").textContent = greeting;
  $("preview-greeting").hidden = !greeting;
  $("preview-starters").replaceChildren(
    ...STARTERS.map((id) => $(id).value.trim())
      .filter(Boolean)
      .map((text) => {
        const item = document.createElement("li");
        const starter = document.createElement("span");
        starter.className = "starter button";
        starter.textContent = text;
        item.append(starter);
        return item;
      }),
  );
}

/** Keep the preview in step with the form; call once. */
export function wirePreview(form) {
  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  form.addEventListener("reset", () => setTimeout(draw));
  draw();
  return draw;
}
