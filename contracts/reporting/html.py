"""A self-contained HTML page: the conformance matrix (operations by checks) and every violation."""

from __future__ import annotations

import html

from contracts.reporting.model import Report
from contracts.reporting.terminal import printable
from contracts.versions import describe

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:center}
th.op,td.op{text-align:left;white-space:nowrap}
th.check{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}
td.ok{background:#e6f4ea}td.fail{background:#fce8e6;font-weight:bold}td.none{color:#bbb}
td.na{color:#777;background:#f5f5f5}.inconclusive{border-left:4px solid #f9ab00;padding:.5em 1em;margin:1em 0}
.violation{border-left:4px solid #d93025;padding:.5em 1em;margin:1em 0;background:#fafafa}
pre{white-space:pre-wrap;word-break:break-all;background:#f1f3f4;padding:.5em}
.pass{color:#188038}.failv{color:#d93025}
"""


def escape(text: str) -> str:
    """``text`` as HTML, a server's control characters spelled out as on the terminal."""
    return html.escape(printable(text))


def render(report: Report) -> str:
    checks = report.checks()
    failing = {(v.operation, v.rule) for v in report.violations}
    head = "".join(f'<th class="check">{escape(c)}</th>' for c in checks)
    body = []
    for operation in report.operations():
        cells = []
        for check in checks:
            row = report.rows.get((operation, check))
            if (operation, check) in failing or (row is not None and row.failed):
                counts = f"{row.failed}/{row.passed + row.failed}" if row else "✗"
                cells.append(f'<td class="fail" title="{escape(check)}">✗ {counts}</td>')
            elif row is not None and row.passed:
                cells.append(f'<td class="ok" title="{escape(check)}">✓ {row.passed}</td>')
            elif row is not None:
                cells.append(f'<td class="na" title="{escape(check)}: not applicable">n/a</td>')
            else:
                cells.append('<td class="none">-</td>')
        body.append(f'<tr><td class="op">{escape(operation)}</td>{"".join(cells)}</tr>')
    violations = []
    for number, v in enumerate(report.violations, 1):
        violations.append(
            f'<div class="violation"><h3>{number}. [{escape(v.rule)}] {escape(v.operation)}: '
            f"{escape(v.title)}</h3>"
            f"<p><b>Expected:</b> {escape(v.expected)}</p><p><b>Got:</b></p><pre>{escape(v.got)}</pre>"
            + (f"<p><b>Detail:</b></p><pre>{escape(v.message)}</pre>" if v.message else "")
            + (f"<p><b>Reproduce:</b></p><pre>{escape(v.curl)}</pre>" if v.curl else "")
            + "</div>"
        )
    errors = "".join(f"<li>{escape(e)}</li>" for e in report.errors)
    verdict = (
        f'<span class="pass">{escape(report.verdict)}</span>'
        if report.conformant
        else f'<span class="failv">{escape(report.verdict)}</span>'
    )
    left_out = "".join(
        f"<li>{escape(left.kind)} <code>{escape(left.name)}</code>: {escape(left.reason)}</li>"
        for left in report.left_out
    )
    inconclusive = "".join(
        f'<div class="inconclusive"><b>{escape(i.scope)} {escape(i.name)}</b>: {escape(i.reason)}'
        f"<br>answers: {escape(', '.join(f'{k} {v}' for k, v in i.counts.items()))}</div>"
        for i in report.inconclusive
    )
    follow_ups = "".join(
        f"<tr><td>{escape(f.check)}</td><td class=op>{escape(f.operation)}</td><td>{escape(f.method)}</td>"
        f'<td class="op"><code>{escape(f.url)}</code></td><td>{f.status}</td></tr>'
        for f in report.follow_ups
    )
    title = f"mockline {report.kind} {report.target}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p>Target <code>{escape(report.url)}</code>: {verdict} (exit code {report.exit_code()}). {report.requests} requests in
{report.duration_seconds:.1f} s{f", seed {report.seed}" if report.seed is not None else ""}.
{f"Left out: {escape(report.left_out_summary())}." if report.left_out else ""}</p>
<p>{escape(describe(report.versions))}</p>
<h2>Conformance</h2>
<table><thead><tr><th class="op">operation</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
<h2>Violations</h2>{"".join(violations) or "<p>None.</p>"}
<h2>Inconclusive</h2>{inconclusive or "<p>None: every operation was answered with success.</p>"}
{f"<h2>Left out</h2><p>Not tested, as this run's options said:</p><ul>{left_out}</ul>" if left_out else ""}
<h2>Requests the checks built</h2>
<table><thead><tr><th>check</th><th class="op">operation judged</th><th>method</th><th class="op">URL sent</th>
<th>status</th></tr></thead><tbody>{follow_ups}</tbody></table>
{f"<h2>Errors</h2><ul>{errors}</ul>" if errors else ""}
</body></html>
"""
