{{%AUTOESCAPE context="HTML"}}
{{#app}}
<section class="card narrow">
<h1>Delete {{name}}?</h1>
<p>This deletes the application, its environments and their artifact records.</p>
<form method="post" action="/apps/{{uuid}}/delete">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="actions"><button type="submit" class="danger">Delete application</button> <a href="/apps/{{uuid}}">Cancel</a></div>
</form>
</section>
{{/app}}
