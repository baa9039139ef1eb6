// An agent's knowledge files on "My agents": list, upload (with progress), delete.
import { sentenceFor, showStatus } from "./api.js";
import { ACCEPT, deleteFile, listFiles, sizeText, uploadFile } from "./files.js";

const STORE_STATES = {
  importing: "importing; sent with each message until it is ready",
  ready: "ready",
  failed: "import failed; sent with each message (tried again later)",
};

/** How the knowledge reaches the model, in words: sent, or searched and the store's state. */
function searchText(search) {
  if (!search || search.estimatedTokens === 0) return "";
  const size = `about ${search.estimatedTokens.toLocaleString("en")} tokens`;
  if (search.mode !== "search") return `Sent with each message (${size}).`;
  return `Searched with File Search (${size}): ${STORE_STATES[search.state] || "not imported yet"}.`;
}

/** A panel for one agent's knowledge, read and changed with its edit token. */
export function knowledgePanel(configId, editToken) {
  const base = `/chat-config/${encodeURIComponent(configId)}`;
  const panel = document.createElement("div");
  panel.className = "knowledge";
  const list = document.createElement("ul");
  const label = document.createElement("label");
  label.textContent = "Add knowledge files (PDF, images, text, Markdown, CSV)";
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.accept = ACCEPT;
  input.id = `knowledge-${configId}`;
  label.htmlFor = input.id;
  const progress = document.createElement("progress");
  progress.max = 1;
  progress.hidden = true;
  progress.setAttribute("aria-label", "Upload progress");
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  const how = document.createElement("p");
  how.className = "hint knowledge-search";
  panel.append(list, how, label, input, progress, status);

  async function refresh() {
    const { files, search } = await listFiles(base, editToken);
    how.textContent = searchText(search);
    const imported = new Set(search?.importedFileIds || []);
    list.replaceChildren(
      ...files
        .filter((file) => file.status === "ready")
        .map((file) => {
          const item = document.createElement("li");
          const name = document.createElement("span");
          const searchable = search?.mode === "search" && imported.has(file.fileId);
          name.textContent = `${file.filename} (${sizeText(file.size)}${searchable ? ", searchable" : ""})`;
          const remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "Remove";
          remove.setAttribute("aria-label", `Remove ${file.filename}`);
          remove.addEventListener("click", async () => {
            try {
              await deleteFile(base, editToken, file.fileId);
              showStatus(status, `Removed ${file.filename}.`, "ok");
            } catch (error) {
              showStatus(status, sentenceFor(error), "error");
            }
            await refresh().catch(() => {});
          });
          item.append(name, remove);
          return item;
        }),
    );
    if (!list.children.length) {
      const empty = document.createElement("li");
      empty.textContent = "No knowledge files yet.";
      list.append(empty);
    }
  }

  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    for (const file of files) {
      showStatus(status, `Uploading ${file.name}…`, "busy");
      progress.hidden = false;
      progress.value = 0;
      try {
        await uploadFile(base, editToken, file, (part) => {
          progress.value = part;
        });
        showStatus(status, `Added ${file.name}. New chats read it.`, "ok");
      } catch (error) {
        showStatus(status, `${file.name}: ${sentenceFor(error)}`, "error");
      }
      progress.hidden = true;
      await refresh().catch(() => {});
    }
  });
  refresh().catch((error) => showStatus(status, sentenceFor(error), "error"));
  return panel;
}
