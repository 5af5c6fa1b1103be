{{%AUTOESCAPE context="HTML"}}
<p class="crumbs"><a href="/apps/{{app_uuid}}/envs/{{env_uuid}}">Back to the environment</a></p>
<div class="head"><h1>Push hook</h1></div>
<section class="card" id="hook">
<p>Add a webhook at your Git host for push events. A push to this environment's branch builds the pushed commit and deploys it; anything else is accepted and ignored.</p>
<dl class="facts">
  <dt>URL</dt><dd><code id="hook-url">{{hook_url}}</code></dd>
  <dt>Content type</dt><dd><code>application/json</code> (GitHub's <code>application/x-www-form-urlencoded</code> works too)</dd>
  <dt>Secret</dt><dd><code id="hook-secret">{{hook_secret}}</code></dd>
</dl>
<p class="hint">GitHub: paste it as the webhook's secret (Keystone checks <code>X-Hub-Signature-256</code>). GitLab: paste it as the secret token (<code>X-Gitlab-Token</code>). Keystone does not store it; rotating makes a new one and the old one stops working.</p>
<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/hook/rotate">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="actions"><button type="submit" class="danger">Rotate the secret</button> <a class="button" href="/apps/{{app_uuid}}/envs/{{env_uuid}}">Done</a></div>
</form>
</section>
