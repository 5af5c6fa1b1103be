{{%AUTOESCAPE context="HTML"}}
<section class="card">
{{#app}}<p class="crumbs"><a href="/apps/{{uuid}}">{{name}}</a></p>{{/app}}
<h1>{{title}}</h1>
{{#has_errors}}<p class="flash flash-error" role="alert">Please correct the fields marked below.</p>{{/has_errors}}
<form method="post" action="/apps/{{app_uuid}}/envs{{#editing}}/{{env_uuid}}{{/editing}}">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Name <input name="name" value="{{v_name}}" required maxlength="100" placeholder="production"></label>
  {{#err_name}}<p class="field-error">Name {{msg}}.</p>{{/err_name}}
  <div class="row">
    <label>Branch <input name="branch" value="{{v_branch}}" placeholder="the application's default branch"></label>
    <label>Pinned commit <input name="pinned_commit" value="{{v_pinned_commit}}" placeholder="optional, full SHA"></label>
  </div>
  {{#err_branch}}<p class="field-error">Branch {{msg}}.</p>{{/err_branch}}
  {{#err_pinned_commit}}<p class="field-error">Pinned commit {{msg}}.</p>{{/err_pinned_commit}}
  <fieldset><legend>Dockerfile</legend>
    <label class="check"><input type="radio" name="dockerfile_source" value="repository"{{#src_repository}} checked{{/src_repository}}> The repository's Dockerfile</label>
    <label class="check"><input type="radio" name="dockerfile_source" value="keystone"{{#src_keystone}} checked{{/src_keystone}}> A Keystone Dockerfile from these settings</label>
    <label>Path in the repository <input name="dockerfile_path" value="{{v_dockerfile_path}}"></label>
  </fieldset>
  {{#err_dockerfile_source}}<p class="field-error">Dockerfile source {{msg}}.</p>{{/err_dockerfile_source}}
  {{#err_dockerfile_path}}<p class="field-error">Dockerfile path {{msg}}.</p>{{/err_dockerfile_path}}
  <fieldset><legend>Build location</legend>
    <label class="check"><input type="radio" name="build_location" value="default"{{#loc_default}} checked{{/loc_default}}> Default build node (the Keystone server)</label>
    <label class="check"><input type="radio" name="build_location" value="specific"{{#loc_specific}} checked{{/loc_specific}}> Specific build node:</label>
    <select name="build_server" aria-label="Build server"><option value="">Choose a build server</option>{{#build_servers}}<option value="{{uuid}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/build_servers}}</select>
  </fieldset>
  {{#err_build_location}}<p class="field-error">Build location {{msg}}.</p>{{/err_build_location}}
  {{#err_build_server}}<p class="field-error">Build server: {{msg}}.</p>{{/err_build_server}}
  <fieldset><legend>Runtime servers</legend>
    {{#NO_runtime_servers}}<p class="empty">No servers with the runtime role yet.</p>{{/NO_runtime_servers}}
    {{#runtime_servers}}<label class="check"><input type="checkbox" name="runtime_servers" value="{{uuid}}"{{#checked}} checked{{/checked}}> {{name}} <code>{{address}}</code></label>{{/runtime_servers}}
  </fieldset>
  {{#err_runtime_servers}}<p class="field-error">Runtime servers: {{msg}}.</p>{{/err_runtime_servers}}
  <label>Artifacts to keep <input name="retention_count" value="{{v_retention_count}}" required inputmode="numeric"></label>
  {{#err_retention_count}}<p class="field-error">Artifacts to keep {{msg}}.</p>{{/err_retention_count}}
  <div class="actions"><button type="submit">{{#editing}}Save{{/editing}}{{#NO_editing}}Create environment{{/NO_editing}}</button>
  <a href="/apps/{{app_uuid}}{{#editing}}/envs/{{env_uuid}}{{/editing}}">Cancel</a></div>
</form>
{{#editing}}
<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/delete" class="danger-zone">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit" class="danger">Delete this environment</button>
</form>
{{/editing}}
</section>
