{{%AUTOESCAPE context="HTML"}}
{{#app}}<p class="crumbs"><a href="/apps/{{uuid}}">{{name}}</a></p>{{/app}}
{{#env}}
<div class="head"><h1>{{name}}</h1>
  <div class="actions"><a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/artifacts">Artifacts</a> <a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/edit">Edit</a></div>
</div>
<section class="card">
<dl class="facts">
  <dt>Branch</dt><dd><code>{{effective_branch}}</code>{{#pinned_commit}} pinned at <code>{{pinned_commit}}</code>{{/pinned_commit}}</dd>
  <dt>Dockerfile</dt><dd>{{#src_repository}}<code>{{dockerfile_path}}</code> from the repository, context <code>{{build_context}}</code>{{/src_repository}}{{#src_keystone}}Keystone Dockerfile: {{#preset_static}}static site from <code>{{preset_root}}</code>{{/preset_static}}{{#preset_is_command}}command <code>{{preset_command}}</code>{{/preset_is_command}} on <code>{{preset_base_image}}</code>{{/src_keystone}}</dd>
  {{#build_args}}<dt>Build arguments</dt><dd><pre class="wrap">{{build_args}}</pre></dd>{{/build_args}}
  <dt>Build timeout</dt><dd>{{build_timeout_s}} s</dd>
  <dt>Build on</dt><dd>{{#loc_default}}Default build node (the control node){{/loc_default}}{{#loc_specific}}{{build_server_name}}{{/loc_specific}}{{#loc_external}}the control node, pushing to <code>{{ext_registry_host}}</code> as <code>{{ext_registry_user}}</code> (password {{#ext_registry_password_set}}set{{/ext_registry_password_set}}{{#NO_ext_registry_password_set}}missing{{/NO_ext_registry_password_set}}{{#ext_registry_ca}}, own CA{{/ext_registry_ca}}){{/loc_external}}</dd>
  <dt>Keep</dt><dd>the latest {{retention_count}} successful artifacts</dd>
  <dt>ID</dt><dd><code>{{uuid}}</code></dd>
</dl>
</section>
{{/env}}
<h2>Runtime servers</h2>
{{#NO_servers}}<p class="empty">No runtime servers chosen.</p>{{/NO_servers}}
<ul class="plain">{{#servers}}<li><a href="/servers/{{uuid}}">{{name}}</a> <code>{{address}}</code> <span class="status status-{{status}}">{{status}}</span></li>{{/servers}}</ul>
