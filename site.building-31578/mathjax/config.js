window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\(', '\\)']],
  displayMath: [['$$', '$$'], ['\\[', '\\]']], processEscapes: true, processEnvironments: true,
  tags: 'ams'}, svg: {fontCache: 'global'}};