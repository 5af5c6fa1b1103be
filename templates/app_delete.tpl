{{%AUTOESCAPE context="HTML"}}
{{#app}}
<section class="card narrow">
<h1>Delete {{name}}?</h1>
<p>This deletes the application, its environments and their artifact records, and stops and removes what its environments run on their servers.</p>
<form method="post" action="/apps/{{uuid}}/delete">
  <input type="hidden" name="csrf" value="{{csrf}}">
  {{#has_volumes}}
  <label class="check"><input type="checkbox" name="remove_volumes" value="1"> Also delete the volumes (their data is lost)</label>
  <label>To confirm, type the application's name, <code>{{name}}</code> <input name="confirm_name" value="" autocomplete="off" spellcheck="false"></label>
  {{/has_volumes}}
  {{#err_delete}}<p class="field-error">Nothing was deleted: {{msg}}.</p>{{/err_delete}}
  <div class="actions"><button type="submit" class="danger">Delete application</button> <a href="/apps/{{uuid}}">Cancel</a></div>
</form>
</section>
{{/app}}
