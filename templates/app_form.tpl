{{%AUTOESCAPE context="HTML"}}
<section class="card">
<h1>{{title}}</h1>
{{#has_errors}}<p class="flash flash-error" role="alert">Please correct the fields marked below.</p>{{/has_errors}}
<form method="post" action="/apps{{#editing}}/{{uuid}}{{/editing}}">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Name <input name="name" value="{{v_name}}" required maxlength="100"></label>
  {{#err_name}}<p class="field-error">Name {{msg}}.</p>{{/err_name}}
  <label>Repository URL <input name="repository_url" value="{{v_repository_url}}" required placeholder="https://git.example.com/team/app.git"></label>
  <p class="hint">https://, ssh:// or user@host:path; git:// and file:// for local development only.</p>
  {{#err_repository_url}}<p class="field-error">Repository URL {{msg}}.</p>{{/err_repository_url}}
  <label>Default branch <input name="default_branch" value="{{v_default_branch}}" required></label>
  {{#err_default_branch}}<p class="field-error">Default branch {{msg}}.</p>{{/err_default_branch}}
  <div class="actions"><button type="submit">{{#editing}}Save{{/editing}}{{#NO_editing}}Create application{{/NO_editing}}</button>
  <a href="/apps{{#editing}}/{{uuid}}{{/editing}}">Cancel</a></div>
</form>
</section>
