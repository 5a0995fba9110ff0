import { createHash } from 'node:crypto';

/**
 * The console's stylesheet and its one script, served from memory under a name that carries their hash, so they
 * can be cached for good and the page's policy can allow exactly them (`'self'`, no inline script).
 *
 * The script only improves pages that work without it: it refreshes `[data-live]` regions by polling their
 * `data-live-url` with `If-None-Match` (the server answers 304 while nothing changed), asks before submitting a
 * `form[data-confirm]`, and lets a `[data-select-all]` box tick the boxes it names in its own form.
 */
export const CONSOLE_CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--accent:#0969da;--focus:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--bg:#0d1117;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--accent:#4493f8;--focus:#4493f8}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);padding:8px}.skip:focus{left:8px;z-index:10}
header.top{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;padding:10px 20px;border-bottom:1px solid var(--line);background:var(--card)}
header.top .brand{font-weight:700;color:var(--fg);text-decoration:none}
nav.main ul{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:0;padding:0}
nav.main a{text-decoration:none;padding:4px 2px}nav.main a[aria-current=page]{font-weight:700;border-bottom:3px solid var(--accent)}
.who{margin-left:auto;display:flex;gap:12px;align-items:center}.who form{margin:0}
main{max-width:1200px;margin:0 auto;padding:20px 20px 48px}h1{font-size:1.5rem;margin:0 0 8px}h2{font-size:1.15rem;margin:24px 0 8px}h3{font-size:1rem;margin:16px 0 6px}
.muted{color:var(--muted)}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0}
dl{display:grid;grid-template-columns:minmax(120px,28%) 1fr;gap:4px 12px;margin:0}dt{color:var(--muted)}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:12px 0 4px}.hint{color:var(--muted);font-size:.9em;margin:0 0 4px}
input[type=text],input[type=email],input[type=number],input[type=date],input[type=search],input[type=file],select,textarea{width:100%;font:inherit;padding:7px 8px;border:1px solid var(--muted);border-radius:6px;background:var(--bg);color:var(--fg)}
textarea{min-height:7em}.check{display:flex;gap:8px;align-items:center;font-weight:600}.check input{width:auto}
.error{color:var(--bad);font-weight:600}.errors{border-color:var(--bad)}.notice{border-left:4px solid var(--accent)}.warning{border-left:4px solid var(--warn)}
.actions{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:8px 16px;border-radius:6px;border:1px solid var(--muted);background:var(--bg);color:var(--fg);cursor:pointer;text-decoration:none}
.approve{background:var(--ok);color:#fff;border-color:var(--ok)}.reject,.danger{background:var(--bg);color:var(--bad);border-color:var(--bad)}
.primary{background:var(--accent);color:#fff;border-color:var(--accent)}
@media (prefers-color-scheme:dark){.approve,.primary{color:#0d1117}}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:4px 12px;align-items:end}.filters label{margin:4px 0 2px}
.badge{display:inline-block;padding:0 8px;border-radius:10px;border:1px solid currentColor;font-size:.85em;white-space:nowrap}
.s-completed,.s-approved{color:var(--ok)}.s-failed,.s-rejected{color:var(--bad)}.s-waiting,.s-pending{color:var(--warn)}.s-cancelled{color:var(--muted)}
.sla-late{color:var(--bad);font-weight:600}.sla-soon{color:var(--warn);font-weight:600}
.pager{display:flex;gap:16px;margin:12px 0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.chart{overflow-x:auto}.chart svg{max-width:100%;height:auto}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px;margin:4px 0;font-size:.9em}
details>summary{cursor:pointer}
.diff ins{background:rgba(26,127,55,.18);text-decoration:underline}.diff del{background:rgba(207,34,46,.18)}
form.intake{max-width:760px}form.intake .field{margin-bottom:4px}form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:0}form.inline select{width:auto}
ol.steps{padding-left:1.4em}ol.steps li{margin:4px 0}.progress-status{font-size:1.1em}
/* runs and run detail (templates/console/runs.ts, run-detail.ts, timeline.ts) */
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
.timeline{margin:8px 0;overflow-x:auto}.timeline svg{max-width:100%;height:auto;display:block}.timeline figcaption{font-size:.9em}
.tl-name,.tl-took{fill:var(--fg);font-size:12px}.tl-took{fill:var(--muted)}.tl-axis{fill:var(--muted);font-size:11px}
.tl-tick{stroke:var(--line);stroke-width:1}.tl-gap{fill:var(--card);stroke:var(--line);stroke-dasharray:3 3}
.tl-bar{fill:var(--muted)}.tl-bar.k-agent{fill:var(--accent)}.tl-bar.k-checkpoint{fill:var(--warn)}.tl-bar.k-step{fill:var(--ok)}
.tl-bar.st-failed{fill:var(--bad)}.tl-bar.open{fill-opacity:.45;stroke:currentColor;stroke-dasharray:4 2}
.tool-calls pre{max-height:14em;overflow:auto;margin:0}
`;

export const CONSOLE_JS = `"use strict";
(function(){
  function live(el){
    var url=el.getAttribute("data-live-url");if(!url)return;
    var every=Number(el.getAttribute("data-live-interval"))||3000;var etag=el.getAttribute("data-live-etag")||"";
    function tick(){
      if(document.hidden){setTimeout(tick,every);return;}
      var headers={"Accept":"text/html"};if(etag)headers["If-None-Match"]=etag;
      fetch(url,{headers:headers,credentials:"same-origin",cache:"no-store"}).then(function(r){
        if(r.redirected){var note=document.createElement("p");note.setAttribute("role","status");note.className="notice";
          note.textContent="Live updates stopped: you are signed out. Reload the page to sign in again.";el.prepend(note);return;}
        if(r.status===200){var t=r.headers.get("ETag");if(t)etag=t;return r.text().then(function(h){
          var focused=document.activeElement&&el.contains(document.activeElement);
          if(!focused){el.innerHTML=h;el.setAttribute("data-live-updated",new Date().toISOString());}
          if(el.querySelector("[data-live-done]"))return;setTimeout(tick,every);});}
        setTimeout(tick,r.status===304?every:every*3);
      }).catch(function(){setTimeout(tick,every*3);});
    }
    setTimeout(tick,every);
  }
  document.querySelectorAll("[data-live-url]").forEach(live);
  document.addEventListener("submit",function(e){
    var f=e.target;var q=f&&f.getAttribute&&f.getAttribute("data-confirm");
    if(q&&!window.confirm(q))e.preventDefault();
  });
  document.querySelectorAll("[data-select-all]").forEach(function(box){
    box.hidden=false;var label=document.querySelector('label[for="'+box.id+'"]');if(label)label.hidden=false;
    box.addEventListener("change",function(){
      (box.form||document).querySelectorAll('input[type=checkbox][name="'+box.getAttribute("data-select-all")+'"]').forEach(function(c){if(!c.disabled)c.checked=box.checked;});
    });
  });
})();
`;

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

export const CONSOLE_CSS_PATH = `/console/assets/console-${short(CONSOLE_CSS)}.css`;
export const CONSOLE_JS_PATH = `/console/assets/console-${short(CONSOLE_JS)}.js`;

/** Console pages load the two assets above and nothing else; charts are inline SVG. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self' https://slack.com",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
