{{%AUTOESCAPE context="HTML"}}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · Keystone</title>
<link rel="icon" href="/favicon.ico" sizes="16x16 32x32">
<link rel="stylesheet" href="/static/keystone.css">{{#refresh}}<noscript><meta http-equiv="refresh" content="{{refresh}}"></noscript>{{/refresh}}
</head>
<body>
<header class="top">
  <a class="brand" href="/">Keystone</a>
  {{#user}}
  <nav>
    <a href="/"{{#nav_overview}} aria-current="page"{{/nav_overview}}>Overview</a>
    <a href="/servers"{{#nav_servers}} aria-current="page"{{/nav_servers}}>Servers</a>
    <a href="/apps"{{#nav_apps}} aria-current="page"{{/nav_apps}}>Applications</a>
    <a href="/registry"{{#nav_registry}} aria-current="page"{{/nav_registry}}>Registry</a>
    <a href="/ops"{{#nav_ops}} aria-current="page"{{/nav_ops}}>Operations</a>
  </nav>
  <form class="logout" method="post" action="/logout">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <span class="who">{{username}}</span>
    <button type="submit" class="link">Sign out</button>
  </form>
  {{/user}}
</header>
<main>
{{#flash}}<p class="flash flash-{{kind}}" role="status">{{message}}</p>{{/flash}}
{{BODY:none}}
</main>
</body>
</html>
