// The portal's one style sheet, served from /portal/portal.css (the pages' CSP allows styles
// of this origin only). The accent colour comes from WSS_PORTAL_ACCENT, which start-up accepts
// only as #rrggbb, and is checked again here so nothing else can ever reach the sheet.
// Narrow screens: tables turn into labelled blocks and long values wrap, so nothing scrolls
// sideways.

const HEX = /^#[0-9a-fA-F]{6}$/;

export function portalCss(accent: string): string {
  const a = HEX.test(accent) ? accent : '#2557d6';
  return `:root{--accent:${a};--ink:#1b2330;--muted:#5b6472;--line:#d9dde4;--bad:#a3161b;--good:#17692e}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--ink);background:#fff}
a{color:var(--accent)}a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}.skip:focus{left:.5rem}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.75rem 1.25rem;border-bottom:3px solid var(--accent)}
.brand{font-weight:700;font-size:1.1rem}.tenant{color:var(--muted)}
header.top nav{display:flex;gap:1rem;flex:1}header.top form{margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.15rem;margin-top:2rem}
button,.button{font:inherit;padding:.45rem 1rem;border-radius:6px;border:2px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
form.stack{display:grid;gap:.85rem;max-width:40rem}form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0}
label{display:block;font-weight:600}.hint{display:block;font-weight:400;color:var(--muted);font-size:.9rem}
input,select,textarea{font:inherit;width:100%;padding:.4rem;border:1px solid #8a93a1;border-radius:4px;max-width:100%}
input[type=checkbox]{width:auto}textarea{min-height:4.5rem}
form.inline label{flex:1 1 10rem}
.notice{border-left:4px solid var(--good);background:#eef8f0;padding:.5rem .9rem}
.error{border-left:4px solid var(--bad);background:#fdeeee;padding:.5rem .9rem}
.secret{border:2px dashed var(--accent);padding:.75rem;background:#f6f8fc}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem;overflow-wrap:anywhere;word-break:break-word}
pre{white-space:pre-wrap;margin:0;max-height:12rem;overflow:auto;background:#f6f7f9;padding:.4rem}
dl.facts{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.35rem 1rem}dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
.state{display:inline-block;padding:0 .45rem;border-radius:4px;background:#e8ebf2;font-size:.9rem}
.state-delivered,.state-enabled,.state-closed{background:#dcf2e1}.state-failed,.state-disabled,.state-open{background:#f9dcdc}
.actions{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
@media (max-width:640px){
header.top{padding:.6rem .8rem}main{padding:.8rem}
dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}
table,thead,tbody,tr,th,td{display:block}thead tr{position:absolute;left:-9999px}
tr{border:1px solid var(--line);border-radius:6px;margin-bottom:.6rem;padding:.3rem}
td{border:0;padding:.2rem .4rem}td::before{content:attr(data-label);display:block;font-weight:600;font-size:.85rem;color:var(--muted)}
}
`;
}
