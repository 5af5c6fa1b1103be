/*
 * Keystone: the live log of an active operation (templates/op_show.tpl).
 *
 * Without JavaScript the page refreshes itself (a meta refresh inside
 * <noscript>). With it, this polls GET /ops/UUID/log every second from
 * where the page's output ends and appends new output in place. Output is
 * text: it is only ever added as text nodes, never parsed as HTML. When
 * the operation ends, one reload shows the final page (its buttons, error
 * and timings) rendered by the server.
 */
(function () {
	"use strict";

	var live = document.getElementById("op-live");
	var POLL_MS = 1000;
	var MAX_FAILURES = 5;
	var step, from, base, failures = 0;

	if (!live || !window.fetch)
		return;
	base = "/ops/" + encodeURIComponent(live.getAttribute("data-op")) + "/log";
	step = live.getAttribute("data-step") || "0";
	from = live.getAttribute("data-from") || "0";

	function each(selector, fn) {
		Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
	}

	function setStatus(el, status) {
		el.className = "status status-" + status;
		el.textContent = status;
	}

	function append(chunk) {
		var pre = document.getElementById("log-" + chunk.step);
		var atEnd;

		if (pre) {
			/* Follow the end only if the reader is there already. */
			atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
			pre.appendChild(document.createTextNode(chunk.text));
			if (atEnd)
				pre.scrollTop = pre.scrollHeight;
		}
		step = String(chunk.step);
		from = String(chunk.seq + 1);
	}

	function apply(data) {
		data.chunks.forEach(append);
		data.steps.forEach(function (s) {
			var exit = s.exit_signal !== null ? "signal " + s.exit_signal :
			    s.exit_code !== null ? String(s.exit_code) : null;

			each('[data-step-status="' + s.id + '"]', function (el) {
				setStatus(el, s.status);
			});
			if (exit === null)
				return;
			each('[data-step-exit="' + s.id + '"]', function (el) {
				var code = document.createElement("code");

				code.textContent = exit;
				el.textContent = "";
				el.appendChild(code);
			});
		});
		each("[data-op-status]", function (el) {
			setStatus(el, data.status);
		});
	}

	function poll() {
		var url = base + "?step=" + encodeURIComponent(step) + "&from=" +
		    encodeURIComponent(from);

		/* A signed-out session is redirected to the login page: that
		 * is an error here, not a log. */
		fetch(url, { credentials: "same-origin", cache: "no-store",
		    redirect: "error", headers: { "Accept": "application/json" } })
			.then(function (res) {
				var type = res.headers.get("Content-Type") || "";

				if (!res.ok || type.indexOf("application/json") !== 0)
					throw new Error("log: HTTP " + res.status);
				return res.json();
			})
			.then(function (data) {
				failures = 0;
				apply(data);
				if (data.more)
					setTimeout(poll, 0);
				else if (!data.active)
					window.location.reload();
				else
					setTimeout(poll, POLL_MS);
			})
			.catch(function () {
				/* Keep trying for a while; then let a reload show
				 * what the server says (the page, or the login). */
				if (++failures >= MAX_FAILURES)
					window.location.reload();
				else
					setTimeout(poll, POLL_MS * (failures + 1));
			});
	}

	setTimeout(poll, POLL_MS);
})();
