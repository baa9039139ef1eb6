// Uploads straight to storage: announce the file, POST it to the presigned form (with
// progress), then ask the API to check and keep it. The same for an agent's knowledge
// (edit token) and a chat's attachments (session token).
import { ApiError, api } from "./api.js";

const TYPES = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  txt: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
};
export const ACCEPT = [...new Set(Object.values(TYPES)), ".md", ".csv", ".txt"].join(",");

/** The type the API takes for this file, from its own type or its name; "" if none. */
export function typeOf(file) {
  if (Object.values(TYPES).includes(file.type)) return file.type;
  return TYPES[file.name.split(".").pop().toLowerCase()] || "";
}

/** POST the file to the presigned form; settles when the browser is done either way. */
function postForm(upload, file, contentType, onProgress) {
  return new Promise((resolve) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", new Blob([file], { type: contentType }), file.name);
    const request = new XMLHttpRequest();
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    // Whatever the browser reports, completing the upload checks what storage holds.
    request.addEventListener("loadend", () => resolve());
    request.open("POST", upload.url);
    request.send(form);
  });
}

/** Upload one file under `base` ("/chat-config/{id}" or "/session/{id}"); the file as kept. */
export async function uploadFile(base, token, file, onProgress = () => {}) {
  const contentType = typeOf(file);
  if (!contentType) throw new ApiError(400, { code: "unsupported_file" }, null);
  const body = { filename: file.name, contentType, size: file.size };
  const started = await api("POST", `${base}/files`, { body, token });
  await postForm(started.upload, file, contentType, onProgress);
  onProgress(1);
  return api("POST", `${base}/files/${encodeURIComponent(started.fileId)}/complete`, { token });
}

export const listFiles = (base, token) => api("GET", `${base}/files`, { token });

export const deleteFile = (base, token, fileId) =>
  api("DELETE", `${base}/files/${encodeURIComponent(fileId)}`, { token });

/** A short-lived link to a completed file (for an image's thumbnail). */
export const fileLink = (base, token, fileId) =>
  api("GET", `${base}/files/${encodeURIComponent(fileId)}/link`, { token });

/** "12.3 KB" */
export function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
