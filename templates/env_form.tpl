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
    <div class="row">
      <label>Path in the repository <input name="dockerfile_path" value="{{v_dockerfile_path}}"></label>
      <label>Build context <input name="build_context" value="{{v_build_context}}" placeholder="."></label>
    </div>
    <label class="check"><input type="radio" name="dockerfile_source" value="keystone"{{#src_keystone}} checked{{/src_keystone}}> A Keystone Dockerfile from a preset:</label>
    <label class="check"><input type="radio" name="preset" value="static"{{#preset_static}} checked{{/preset_static}}> Static site: a directory of the repository served over HTTP</label>
    <label class="check"><input type="radio" name="preset" value="command"{{#preset_is_command}} checked{{/preset_is_command}}> Command: the repository run by a command</label>
    <label>Base image <input name="preset_base_image" value="{{v_preset_base_image}}" placeholder="{{static_base}} (static site), {{command_base}} (command)"></label>
    <div class="row">
      <label>Site directory <input name="preset_root" value="{{v_preset_root}}" placeholder="."></label>
      <label>Command <input name="preset_command" value="{{v_preset_command}}" placeholder="./server --port $PORT"></label>
    </div>
  </fieldset>
  {{#err_dockerfile_source}}<p class="field-error">Dockerfile source {{msg}}.</p>{{/err_dockerfile_source}}
  {{#err_dockerfile_path}}<p class="field-error">Dockerfile path {{msg}}.</p>{{/err_dockerfile_path}}
  {{#err_build_context}}<p class="field-error">Build context {{msg}}.</p>{{/err_build_context}}
  {{#err_preset}}<p class="field-error">Preset: {{msg}}.</p>{{/err_preset}}
  {{#err_preset_base_image}}<p class="field-error">Base image {{msg}}.</p>{{/err_preset_base_image}}
  {{#err_preset_root}}<p class="field-error">Site directory {{msg}}.</p>{{/err_preset_root}}
  {{#err_preset_command}}<p class="field-error">Command {{msg}}.</p>{{/err_preset_command}}
  <label>Build arguments <textarea name="build_args" rows="4" placeholder="NAME=value, one per line (not secret)">{{v_build_args:pre_escape}}</textarea></label>
  {{#err_build_args}}<p class="field-error">Build arguments {{msg}}.</p>{{/err_build_args}}
  <label>Build timeout (seconds) <input name="build_timeout_s" value="{{v_build_timeout_s}}" inputmode="numeric"></label>
  {{#err_build_timeout_s}}<p class="field-error">Build timeout {{msg}}.</p>{{/err_build_timeout_s}}
  <fieldset><legend>Build location</legend>
    <label class="check"><input type="radio" name="build_location" value="default"{{#loc_default}} checked{{/loc_default}}> Default build node (the control node)</label>
    <label class="check"><input type="radio" name="build_location" value="specific"{{#loc_specific}} checked{{/loc_specific}}> Specific build node:</label>
    <select name="build_server" aria-label="Build server"><option value="">Choose a build server</option>{{#build_servers}}<option value="{{uuid}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/build_servers}}</select>
    <label class="check"><input type="radio" name="build_location" value="external"{{#loc_external}} checked{{/loc_external}}> External registry override: build on the control node, push to this registry</label>
    <div class="row">
      <label>Registry host <input name="ext_registry_host" value="{{v_ext_registry_host}}" placeholder="registry.example.com[:port]"></label>
      <label>Username <input name="ext_registry_user" value="{{v_ext_registry_user}}" autocomplete="off"></label>
      <label>Password <input type="password" name="ext_registry_password" value="" autocomplete="new-password"{{#password_set}} placeholder="set (leave empty to keep)"{{/password_set}}></label>
    </div>
    <label>Registry CA certificate (PEM, optional) <textarea name="ext_registry_ca" rows="3" placeholder="-----BEGIN CERTIFICATE-----">{{v_ext_registry_ca:pre_escape}}</textarea></label>
  </fieldset>
  {{#err_build_location}}<p class="field-error">Build location {{msg}}.</p>{{/err_build_location}}
  {{#err_build_server}}<p class="field-error">Build server: {{msg}}.</p>{{/err_build_server}}
  {{#err_ext_registry_host}}<p class="field-error">Registry host {{msg}}.</p>{{/err_ext_registry_host}}
  {{#err_ext_registry_user}}<p class="field-error">Registry username {{msg}}.</p>{{/err_ext_registry_user}}
  {{#err_ext_registry_password}}<p class="field-error">Registry password {{msg}}.</p>{{/err_ext_registry_password}}
  {{#err_ext_registry_ca}}<p class="field-error">Registry CA certificate {{msg}}.</p>{{/err_ext_registry_ca}}
  <fieldset><legend>Runtime servers</legend>
    {{#NO_runtime_servers}}<p class="empty">No servers with the runtime role yet.</p>{{/NO_runtime_servers}}
    {{#runtime_servers}}<label class="check"><input type="checkbox" name="runtime_servers" value="{{uuid}}"{{#checked}} checked{{/checked}}> {{name}} <code>{{address}}</code></label>{{/runtime_servers}}
  </fieldset>
  {{#err_runtime_servers}}<p class="field-error">Runtime servers: {{msg}}.</p>{{/err_runtime_servers}}
  {{#has_volumes}}
  <fieldset><legend>Volumes on a server taken out</legend>
    <p class="hint">A runtime server unticked above stops running this environment; its volumes stay there unless you ask.</p>
    <label class="check"><input type="checkbox" name="remove_volumes" value="1"> Also delete the volumes (their data is lost)</label>
    <label>To confirm, type the environment's name, <code>{{env_name}}</code> <input name="confirm_name" value="" autocomplete="off" spellcheck="false"></label>
  </fieldset>
  {{/has_volumes}}
  {{#err_remove_volumes}}<p class="field-error">Also delete the volumes: {{msg}}.</p>{{/err_remove_volumes}}
  {{#err_confirm_name}}<p class="field-error">Confirmation: {{msg}}.</p>{{/err_confirm_name}}
  <label>Artifacts to keep <input name="retention_count" value="{{v_retention_count}}" required inputmode="numeric"></label>
  {{#err_retention_count}}<p class="field-error">Artifacts to keep {{msg}}.</p>{{/err_retention_count}}
  <div class="actions"><button type="submit">{{#editing}}Save{{/editing}}{{#NO_editing}}Create environment{{/NO_editing}}</button>
  <a href="/apps/{{app_uuid}}{{#editing}}/envs/{{env_uuid}}{{/editing}}">Cancel</a></div>
</form>
{{#editing}}
<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/delete" class="danger-zone">
  <input type="hidden" name="csrf" value="{{csrf}}">
  {{#has_volumes}}
  <label class="check"><input type="checkbox" name="remove_volumes" value="1"> Also delete the volumes (their data is lost)</label>
  <label>To confirm, type the environment's name, <code>{{env_name}}</code> <input name="confirm_name" value="" autocomplete="off" spellcheck="false"></label>
  {{/has_volumes}}
  {{#err_delete}}<p class="field-error">Nothing was deleted: {{msg}}.</p>{{/err_delete}}
  <button type="submit" class="danger">Delete this environment</button>
</form>
{{/editing}}
</section>
