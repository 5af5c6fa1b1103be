{{%AUTOESCAPE context="HTML"}}
{{#server}}
<div class="head"><h1>Connect {{name}}</h1></div>
<section class="card">
<p>Run this once on <strong>{{address}}</strong> (Ubuntu 22.04/24.04 or Debian 12) as root or a sudo-capable user. It installs Docker and Compose, creates the <code>keystone</code> user, authorises Keystone's management key, makes SSH key-only and reports back; Keystone then pins the server's host key and verifies it.</p>
<pre class="command"><code>{{command}}</code></pre>
<p class="hint">The command works once and for {{ttl_min}} minutes. Issuing a new one revokes it.{{#ca_file}} This Keystone uses a local certificate authority: copy <code>{{ca_file}}</code> to the server as <code>keystone-ca.crt</code> first.{{/ca_file}}</p>
<h2>Sudo password of the keystone user</h2>
<pre class="command"><code>{{sudo_password}}</code></pre>
<p class="hint">Shown only now: Keystone keeps it encrypted until the server fetches its script, then forgets it. It is for you, to run commands as root when you log in as keystone (SSH with your own key); Keystone's automation never uses it.</p>
<div class="actions"><a class="button" href="/servers/{{uuid}}">Done</a></div>
</section>
{{/server}}
