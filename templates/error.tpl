{{%AUTOESCAPE context="HTML"}}
<section class="card narrow">
<h1>{{status}} · {{reason}}</h1>
<p>{{message}}</p>
<p><a href="/">Back to the overview</a></p>
</section>
