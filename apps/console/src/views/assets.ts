/** The console's only static assets: one stylesheet and one small script (no build step). */
export const CONSOLE_CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--ok:#047857;--okbg:#d1fae5;--bad:#b91c1c;--badbg:#fee2e2;--warn:#92400e;--warnbg:#fef3c7;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#111827;color:#f9fafb}
header a{color:#d1d5db;text-decoration:none;padding:4px 2px}
header a.active,header a:hover{color:#fff;border-bottom:2px solid #60a5fa}
header .brand{font-weight:700;color:#fff;font-size:16px;border:0}
header nav{display:flex;gap:16px;flex:1}
main{padding:20px 24px;max-width:1400px}
h1{font-size:20px;margin:4px 0 16px}
h2{font-size:16px;margin:22px 0 8px}
h3{font-size:14px;margin:14px 0 6px}
section.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin-bottom:16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.02em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,textarea,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok{color:var(--ok);background:var(--okbg)}
.bad{color:var(--bad);background:var(--badbg)}
.warn{color:var(--warn);background:var(--warnbg)}
.muted{color:var(--muted)}
.error{color:var(--bad);background:var(--badbg);padding:8px 12px;border-radius:6px;margin:8px 0}
.notice{color:var(--warn);background:var(--warnbg);padding:8px 12px;border-radius:6px;margin:8px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px}
.charts figure{margin:0;min-width:0;overflow:hidden}
.charts figure svg{display:block;max-width:100%;height:auto}
.live{font-size:12px;padding:2px 8px;border-radius:10px}
textarea{width:100%;min-height:140px;padding:8px;border:1px solid var(--line);border-radius:6px}
button,input[type=submit]{background:var(--accent);color:#fff;border:0;border-radius:6px;padding:5px 12px;cursor:pointer;font:inherit}
button.secondary{background:#4b5563}
input[type=text],input[type=password]{padding:4px 8px;border:1px solid var(--line);border-radius:6px;font:inherit}
form.inline{display:inline-flex;gap:6px;align-items:center;margin:0}
iframe.notebook{width:100%;height:80vh;border:1px solid var(--line);border-radius:8px;background:#fff}
svg.chart .grid{stroke:#e5e7eb;stroke-width:1}
svg .chart-title{font-size:13px;font-weight:600;fill:#1f2937}
svg .tick,svg .legend{font-size:11px;fill:#4b5563}
svg .chart-empty{font-size:12px;fill:#9ca3af}
.scroll{overflow-x:auto}
.cell{max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
pre.log{background:#111827;color:#e5e7eb;padding:10px 12px;border-radius:6px;max-height:70vh;overflow:auto}
pre.log .level-warn{color:#fcd34d}
pre.log .level-error{color:#fca5a5}
.pager{margin:8px 0 0}
.before-after{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.before-after>div{min-width:0}
article.message pre{max-height:360px;overflow:auto;background:var(--bg);padding:6px 8px;border-radius:6px}
label{color:var(--muted);font-size:12px}
svg.graph .node:hover rect{fill:#eff6ff}
`;

export const CONSOLE_JS = `
(() => {
  const refresh = Number(document.body.dataset.refresh || 5000);
  const targets = Array.from(document.querySelectorAll("[data-live]"));
  const status = document.getElementById("live-status");
  const say = (text, cls) => { if (status) { status.textContent = text; status.className = "live " + cls; } };
  async function tick() {
    let ok = true;
    for (const el of targets) {
      try {
        const r = await fetch(el.dataset.live, { headers: { accept: "text/html" }, credentials: "same-origin" });
        if (!r.ok) throw new Error("HTTP " + r.status);
        el.innerHTML = await r.text();
      } catch (e) { ok = false; }
    }
    say(ok ? "live · " + new Date().toISOString().slice(11, 19) + " UTC" : "connection lost", ok ? "ok" : "bad");
  }
  if (targets.length) setInterval(tick, refresh);
  const sql = document.querySelector("textarea[name=sql]");
  if (sql) sql.addEventListener("keydown", (e) => { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") sql.form.submit(); });
})();
`;
