"""The Neo4j Browser guide (``:guide http://<api>/guide/rskg.html``) made from kg/guide/queries.cypher.

Each numbered block of the saved-queries file becomes one slide: its title, one runnable ``:param``
block per parameter, and the runnable query.
"""

from __future__ import annotations

import html

from kg.guide import QUERIES_FILE, Slide, parse

__all__ = ["QUERIES_FILE", "Slide", "guide_html", "parse", "render"]


def _pre(code: str) -> str:
    return f'<pre mode="cypher" class="pre-scrollable code runnable">{html.escape(code)}</pre>'


def render(text: str) -> str:
    intro, slides = parse(text)
    parts = ['<article class="guide">', '<carousel class="deck container-fluid">',
             '<slide class="row-fluid"><div class="col-sm-12"><h3>rskg: the remote-sensing label graph</h3>',
             f"<p>{html.escape(' '.join(intro))}</p>",
             f"<p>{len(slides)} saved queries follow; click a code block to put it in the editor, then run it.</p>"
             "</div></slide>"]
    for i, s in enumerate(slides, 1):
        parts.append(f'<slide class="row-fluid"><div class="col-sm-12"><h3>{i}. {html.escape(s.title)}</h3>')
        parts += [f"<p>{html.escape(n)}</p>" for n in s.notes]
        if s.params:
            parts.append("<p>First set the parameters:</p>")
            parts += [_pre(p) for p in s.params]
        parts.append("<p>Then run the query:</p>")
        parts.append(_pre("\n".join(s.query)))
        parts.append("</div></slide>")
    parts += ["</carousel>", "</article>"]
    return "\n".join(parts)


def guide_html() -> str:
    return render(QUERIES_FILE.read_text(encoding="utf-8"))
