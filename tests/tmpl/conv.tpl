{{%AUTOESCAPE context="HTML"}}
s={{s}} n={{n}} f={{f}}
{{#t}}T{{/t}}{{#NO_t}}notT{{/NO_t}}{{#NO_fa}}notF{{/NO_fa}}{{#fa}}F{{/fa}}{{#NO_nul}}null{{/NO_nul}}
{{#s}}has-s{{/s}}{{#NO_e}}empty-e{{/NO_e}}
{{#obj}}[{{k}} {{s}}]{{/obj}}
{{#arr}}<{{k}}>{{/arr}}{{#NO_none}}no-items{{/NO_none}}
{{#scal}}({{VALUE}}){{/scal}}
<a href="/x?q={{s}}">link</a>
