{{%AUTOESCAPE context="HTML"}}
{{#app}}<p class="crumbs"><a href="/apps/{{uuid}}">{{name}}</a></p>{{/app}}
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#env}}
<div class="head"><h1>{{name}}</h1>
  <div class="actions"><a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/artifacts">Artifacts</a> <a class="button" href="/apps/{{app_uuid}}/envs/{{uuid}}/edit">Edit</a></div>
</div>
<section class="card">
<dl class="facts">
  <dt>Branch</dt><dd><code>{{effective_branch}}</code>{{#pinned_commit}} pinned at <code>{{pinned_commit}}</code>{{/pinned_commit}}</dd>
  <dt>Dockerfile</dt><dd>{{#src_repository}}<code>{{dockerfile_path}}</code> from the repository, context <code>{{build_context}}</code>{{/src_repository}}{{#src_keystone}}Keystone Dockerfile: {{#preset_static}}static site from <code>{{preset_root}}</code>{{/preset_static}}{{#preset_is_command}}command <code>{{preset_command}}</code>{{/preset_is_command}} on <code>{{preset_base_image}}</code>{{/src_keystone}}</dd>
  {{#build_args}}<dt>Build arguments</dt><dd><pre class="wrap">{{build_args:pre_escape}}</pre></dd>{{/build_args}}
  <dt>Build timeout</dt><dd>{{build_timeout_s}} s</dd>
  <dt>Build on</dt><dd>{{#loc_default}}Default build node (the control node){{/loc_default}}{{#loc_specific}}{{build_server_name}}{{/loc_specific}}{{#loc_external}}the control node, pushing to <code>{{ext_registry_host}}</code> as <code>{{ext_registry_user}}</code> (password {{#ext_registry_password_set}}set{{/ext_registry_password_set}}{{#NO_ext_registry_password_set}}missing{{/NO_ext_registry_password_set}}{{#ext_registry_ca}}, own CA{{/ext_registry_ca}}){{/loc_external}}</dd>
  <dt>Keep</dt><dd>the latest {{retention_count}} successful artifacts</dd>
  <dt>ID</dt><dd><code>{{uuid}}</code></dd>
</dl>
</section>
<section class="card" id="build">
<h2>Build</h2>
<form method="post" action="/apps/{{app_uuid}}/envs/{{uuid}}/build">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="row">
    <label>Commit <input name="commit" value="{{v_commit}}" placeholder="{{#pinned_commit}}{{pinned_commit}}{{/pinned_commit}}{{#NO_pinned_commit}}the head of {{effective_branch}}{{/NO_pinned_commit}}" autocomplete="off" spellcheck="false" pattern="[0-9a-fA-F]{40}([0-9a-fA-F]{24})?"></label>
  </div>
  <label class="check"><input type="checkbox" name="rebuild" value="1"{{#v_rebuild}} checked{{/v_rebuild}}> Rebuild even if this commit was built</label>
  <div class="actions"><button type="submit">Build</button></div>
</form>
</section>
<section class="card" id="deploy">
<h2>Deploy</h2>
<p>Builds {{#pinned_commit}}<code>{{pinned_commit}}</code>{{/pinned_commit}}{{#NO_pinned_commit}}the head of <code>{{effective_branch}}</code>{{/NO_pinned_commit}} (or reuses its artifact), then deploys it to every runtime server. To deploy an earlier version, use its "Deploy this version" on the <a href="/apps/{{app_uuid}}/envs/{{uuid}}/artifacts">artifacts</a>.</p>
<form method="post" action="/apps/{{app_uuid}}/envs/{{uuid}}/deploy">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="actions"><button type="submit">Deploy</button></div>
</form>
</section>
<section class="card" id="hook">
<h2>Deploy on push</h2>
<p>A Git host's webhook at <code>{{hook_url}}</code> deploys each push to <code>{{effective_branch}}</code>, signed with this environment's secret.</p>
<form method="post" action="/apps/{{app_uuid}}/envs/{{uuid}}/hook">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="actions"><button type="submit">Show the hook secret</button></div>
</form>
</section>
{{/env}}
<h2>Builds</h2>
{{#NO_builds}}<p class="empty">No builds yet.</p>{{/NO_builds}}
<table class="list" id="builds">
<thead><tr><th>Build</th><th>Status</th><th>Commit</th><th>Build node</th><th>Artifact</th><th>Created</th><th>Took</th></tr></thead>
<tbody>
{{#builds}}
<tr>
  <td><a href="/ops/{{uuid}}"><code>{{uuid}}</code></a>{{#rebuild}} <span class="tag">rebuild</span>{{/rebuild}}</td>
  <td><span class="status status-{{status}}">{{status}}</span>{{#queued}} <span class="queue">{{queue_ahead}} ahead on {{node}}</span>{{/queued}}{{#superseded_by_uuid}} by <a href="/ops/{{superseded_by_uuid}}">a newer build</a>{{/superseded_by_uuid}}</td>
  <td>{{#short_sha}}<code title="{{commit_sha}}">{{short_sha}}</code>{{/short_sha}}{{#NO_short_sha}}<span class="muted">—</span>{{/NO_short_sha}}</td>
  <td>{{node}}</td>
  <td>{{#artifact_uuid}}<a href="/apps/{{app_uuid}}/envs/{{env_uuid}}/artifacts">artifact</a>{{/artifact_uuid}}{{#NO_artifact_uuid}}<span class="muted">—</span>{{/NO_artifact_uuid}}</td>
  <td>{{age}} ago</td>
  <td>{{#took}}{{took}}{{/took}}{{#NO_took}}<span class="muted">—</span>{{/NO_took}}</td>
</tr>
{{/builds}}
</tbody>
</table>
<div class="head"><h2>Services</h2>
  <div class="actions"><a class="button" href="/apps/{{app_uuid}}/envs/{{env_uuid}}/services/new">New service</a></div>
</div>
{{#NO_services}}<p class="empty">No services yet: a deploy runs each service on every runtime server.</p>{{/NO_services}}
<table class="list" id="services">
<thead><tr><th>Service</th><th>Listens on</th><th>Command</th><th>Health</th><th>Restart</th><th>Variables</th><th>Volumes</th></tr></thead>
<tbody>
{{#services}}
<tr>
  <td><a href="/apps/{{app_uuid}}/envs/{{env_uuid}}/services/{{uuid}}/edit">{{name}}</a></td>
  <td><code>{{#bind_address}}{{bind_address}}{{/bind_address}}{{#NO_bind_address}}(server){{/NO_bind_address}}:{{port}}</code></td>
  <td>{{#command}}<code>{{command}}</code>{{/command}}{{#NO_command}}<span class="muted">the image's</span>{{/NO_command}}</td>
  <td>{{health_kind}} every {{health_interval_s}} s, within {{health_timeout_s}} s</td>
  <td>{{restart_policy}}</td>
  <td>{{var_count}} plain, {{secret_count}} secret</td>
  <td>{{volume_count}}</td>
</tr>
{{/services}}
</tbody>
</table>
<h2>Runtime servers</h2>
{{#NO_deployments}}<p class="empty">No runtime servers chosen.</p>{{/NO_deployments}}
<p id="env-state">{{#current_digest}}Running <code>{{current_digest}}</code> on every server.{{/current_digest}}{{#mixed}} <span class="status status-mixed">mixed</span> not every server runs the same version.{{/mixed}}{{#degraded}} <span class="status status-failed">degraded</span> failed on {{failed_servers}}.{{/degraded}}{{#NO_deployed}}<span class="muted">Not deployed yet.</span>{{/NO_deployed}}</p>
<table class="list" id="deployments">
<thead><tr><th>Server</th><th>State</th><th>Digest</th><th>Since</th><th>Last deploy</th><th>Message</th></tr></thead>
<tbody>
{{#deployments}}
<tr>
  <td><a href="/servers/{{server_uuid}}">{{server_name}}</a> <code>{{address}}</code> <span class="status status-{{server_status}}">{{server_status}}</span></td>
  <td>{{#state}}<span class="status status-{{state}}">{{state}}</span>{{/state}}{{#NO_state}}<span class="muted">not deployed</span>{{/NO_state}}</td>
  <td>{{#digest}}<code>{{digest}}</code>{{#short_sha}} (<code>{{short_sha}}</code>){{/short_sha}}{{/digest}}{{#NO_digest}}<span class="muted">—</span>{{/NO_digest}}</td>
  <td>{{#since_at}}<span title="{{since_at}}">{{since_age}} ago</span>{{/since_at}}{{#NO_since_at}}<span class="muted">—</span>{{/NO_since_at}}</td>
  <td>{{#op_uuid}}<a href="/ops/{{op_uuid}}">{{op_kind}}</a>{{/op_uuid}}{{#NO_op_uuid}}<span class="muted">—</span>{{/NO_op_uuid}}</td>
  <td>{{message}}</td>
</tr>
{{/deployments}}
</tbody>
</table>
