// The HTML page's inline style and script: no fonts, images or scripts from anywhere else, so the file opens offline.
// The script only shows an event's detail (on a click, or for `#event-<n>` in the address) as text, never as markup.

export const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1d232b; --muted: #66707c; --line: #dde2e8; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
main { padding: 16px 24px 240px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 18px 0 8px; }
code, pre, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.facts { color: var(--muted); margin: 0; }
#totals dl { display: flex; flex-wrap: wrap; gap: 8px; margin: 0; }
#totals div { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 110px; }
#totals dt { color: var(--muted); font-size: 12px; } #totals dd { margin: 0; font-size: 18px; font-weight: 600; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 20px; }
ul.tree { padding-left: 0; } ul.tree li { margin: 2px 0; }
.mark { display: inline-block; width: 1.4em; text-align: center; }
.m-completed { color: #1a7f37; } .m-failed { color: #cf222e; } .m-delegated, .m-waitingForDelegates { color: #8250df; }
.timeline { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.row { display: grid; grid-template-columns: 260px 1fr 190px; border-top: 1px solid var(--line); min-height: 44px; }
.row.axis { border-top: 0; min-height: 24px; color: var(--muted); font-size: 11px; }
.who { padding: 4px 8px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.who small { display: block; color: var(--muted); }
.usage { padding: 4px 8px; font-size: 12px; color: var(--muted); border-left: 1px solid var(--line); }
.track { position: relative; border-left: 1px solid var(--line); }
.tick { position: absolute; top: 4px; transform: translateX(-50%); white-space: nowrap; }
.tick.last { transform: translateX(-100%); }
.tick.first { transform: none; }
.item { position: absolute; border: 0; padding: 0; margin: 0; cursor: pointer; overflow: hidden; font: 10px/14px system-ui, sans-serif;
  color: #fff; white-space: nowrap; text-overflow: ellipsis; text-align: left; min-width: 3px; }
.item.sandbox { z-index: 0; top: 4px; height: 36px; background: #e8eef6; color: #44546a; padding: 0 3px; line-height: 12px; }
.item.generation { z-index: 1; top: 17px; height: 14px; background: #2f81f7; }
.item.tools { z-index: 1; top: 17px; height: 14px; background: #d4a72c; }
.item.wait { z-index: 1; top: 17px; height: 14px; background: repeating-linear-gradient(45deg, #c8b6f0, #c8b6f0 4px, #ddd0fa 4px, #ddd0fa 8px); color: #4b2a99; }
.item.mark { z-index: 2; top: 31px; width: 7px; min-width: 7px; height: 9px; margin-left: -3px; border-radius: 2px; background: #8c959f; }
.item.delegate { background: #8250df; } .item.done { background: #1a7f37; } .item.resume { background: #0969da; }
.item.retry { background: #d4a72c; } .item.crash, .item.error, .item.unreadable { background: #cf222e; width: 9px; height: 11px; }
.item.selected { outline: 2px solid #000; }
.legend span { display: inline-block; margin-right: 12px; } .legend i { display: inline-block; width: 12px; height: 10px; margin-right: 4px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; } th:first-child, td:first-child { text-align: left; }
#detail { position: fixed; z-index: 10; left: 0; right: 0; bottom: 0; height: 220px; background: #fff; border-top: 2px solid var(--line); padding: 8px 24px; overflow: auto; }
#detail h2 { margin: 0 0 4px; font-size: 14px; } #detail pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
`

export const PAGE_SCRIPT = `(() => {
  const events = JSON.parse(document.getElementById("events").textContent);
  const title = document.getElementById("detail-title");
  const body = document.getElementById("detail-body");
  const show = (index) => {
    const event = events[index];
    if (!event) return;
    title.textContent = event.title;
    body.textContent = event.json;
    for (const item of document.querySelectorAll(".selected")) item.classList.remove("selected");
    for (const item of document.querySelectorAll("[data-event]"))
      if (item.dataset.event === String(index)) item.classList.add("selected");
    document.body.dataset.shown = String(index);
  };
  document.addEventListener("click", (click) => {
    const item = click.target.closest("[data-event]");
    if (!item) return;
    show(Number(item.dataset.event));
    try { history.replaceState(null, "", "#event-" + item.dataset.event); } catch {}
  });
  const asked = /^#event-(\\d+)$/.exec(location.hash);
  if (asked) show(Number(asked[1]));
  document.body.dataset.events = String(events.length);
})();
`
