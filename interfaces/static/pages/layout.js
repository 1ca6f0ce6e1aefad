// Every page: the header's "Log out" button.
import { api } from "/static/lib/http.js";

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  location.href = "/login";
});
