{{%AUTOESCAPE context="HTML"}}
<section class="card">
<h1>{{title}}</h1>
{{#has_errors}}<p class="flash flash-error" role="alert">Please correct the fields marked below.</p>{{/has_errors}}
<form method="post" action="/servers{{#editing}}/{{uuid}}{{/editing}}">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Name <input name="name" value="{{v_name}}" required maxlength="100"></label>
  {{#err_name}}<p class="field-error">Name {{msg}}.</p>{{/err_name}}
  <label>Address <input name="address" value="{{v_address}}" required placeholder="203.0.113.7 or host.example.com"></label>
  {{#err_address}}<p class="field-error">Address {{msg}}.</p>{{/err_address}}
  <div class="row">
    <label>SSH port <input name="ssh_port" value="{{v_ssh_port}}" required inputmode="numeric"></label>
    <label>SSH user <input name="ssh_user" value="{{v_ssh_user}}" required></label>
  </div>
  {{#err_ssh_port}}<p class="field-error">SSH port {{msg}}.</p>{{/err_ssh_port}}
  {{#err_ssh_user}}<p class="field-error">SSH user {{msg}}.</p>{{/err_ssh_user}}
  <fieldset><legend>Roles</legend>
    <label class="check"><input type="checkbox" name="role_runtime" value="1"{{#v_role_runtime}} checked{{/v_role_runtime}}> Runtime: runs deployed applications</label>
    <label class="check"><input type="checkbox" name="role_build" value="1"{{#v_role_build}} checked{{/v_role_build}}> Build: builds images</label>
  </fieldset>
  {{#NO_editing}}<label class="check"><input type="checkbox" name="connect" value="1"{{#v_connect}} checked{{/v_connect}}> Existing server: connect it now with a one-time command (installs Docker, the keystone user and Keystone's SSH key)</label>{{/NO_editing}}
  <div class="actions"><button type="submit">{{#editing}}Save{{/editing}}{{#NO_editing}}Add server{{/NO_editing}}</button>
  <a href="/servers{{#editing}}/{{uuid}}{{/editing}}">Cancel</a></div>
</form>
</section>
