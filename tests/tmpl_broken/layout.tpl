{{%AUTOESCAPE context="HTML"}}
<main title="{{title}}">{{BODY:none}}</main>
