/**
 * The page's HTML shell. The token (URL-safe base64) rides along on the asset addresses,
 * since every request to the inspector must carry it.
 * @internal
 */
export function pageHtml(token: string): string {
  const q = `?token=${encodeURIComponent(token)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>covey inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css${q}">
<script type="module" src="/app.js${q}"></script>
</head>
<body>
<header><h1>covey <span>inspector</span></h1><nav id="nav"></nav><span id="status" class="off">connecting</span></header>
<main id="view"></main>
</body>
</html>
`;
}
