{{%AUTOESCAPE context="HTML"}}
{{#app}}<p class="crumbs"><a href="/apps/{{uuid}}">{{name}}</a></p>{{/app}}
{{#env}}
<div class="head"><h1>{{name}}</h1>
  <div class="actions"><a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/artifacts">Artifacts</a> <a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/edit">Edit</a></div>
</div>
<section class="card">
<dl class="facts">
  <dt>Branch</dt><dd><code>{{effective_branch}}</code>{{#pinned_commit}} pinned at <code>{{pinned_commit}}</code>{{/pinned_commit}}</dd>
  <dt>Dockerfile</dt><dd>{{#src_repository}}<code>{{dockerfile_path}}</code> from the repository{{/src_repository}}{{#src_keystone}}Keystone Dockerfile{{/src_keystone}}</dd>
  <dt>Build on</dt><dd>{{#loc_default}}Default build node (the Keystone server){{/loc_default}}{{#loc_specific}}{{build_server_name}}{{/loc_specific}}</dd>
  <dt>Keep</dt><dd>the latest {{retention_count}} successful artifacts</dd>
  <dt>ID</dt><dd><code>{{uuid}}</code></dd>
</dl>
</section>
{{/env}}
<h2>Runtime servers</h2>
{{#NO_servers}}<p class="empty">No runtime servers chosen.</p>{{/NO_servers}}
<ul class="plain">{{#servers}}<li><a href="/servers/{{uuid}}">{{name}}</a> <code>{{address}}</code> <span class="status status-{{status}}">{{status}}</span></li>{{/servers}}</ul>
