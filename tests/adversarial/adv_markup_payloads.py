"""Correct, with markdown, HTML, SVG, JavaScript and attachments that try to run script in the
instructor's browser and to use the Jupyter server's API: none may run, in any page."""
# mutate: attach-images

# %% new-markdown:title
My notes. <script>window.__xss = "script"; fetch("/api/contents/pwned-script.txt", {method: "PUT", headers: {"X-XSRFToken": (document.cookie.match(/_xsrf=([^;]+)/) || [])[1]}, body: JSON.stringify({type: "file", format: "text", content: "pwned"})});</script>
<img src="x" onerror="window.__xss = 'img onerror'">
<svg onload="window.__xss = 'svg onload'"><circle r="5"/></svg>
[a link](javascript:window.__xss='javascript link') <a href="javascript:window.__xss='a href'">click</a>
<iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>
<details open ontoggle="window.__xss = 'details'"><summary>s</summary></details>
<style>body { display: none !important; }</style>
<meta http-equiv="refresh" content="0; url=https://example.invalid/">
<base href="https://example.invalid/">
<form action="https://example.invalid/"><input name="x"></form>
<object data="data:text/html,<script>parent.__xss='object'</script>"></object>
<embed src="data:text/html,<script>parent.__xss='embed'</script>">
Math still shows: $\varepsilon = 10^{-7}$, and so do images: ![dot](attachment:dot.png) ![evil](attachment:evil.svg)

# %% new-code:setup
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<img src=x onerror=\"window.__xss='html output'\"><b>bold output</b>"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=\'svg output\'"><circle r="5"/></svg>'))
display(Javascript("window.__xss = 'javascript output'"))
display(Markdown("<img src=x onerror=\"window.__xss='markdown output'\">"))
print("<script>window.__xss = 'printed'</script>")
