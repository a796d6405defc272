// sse-resume.js: lets a page that follows a channel resume by event id
// after htmx's SSE extension has to reconnect by itself.
//
// When an event stream answers with anything but 200 (a 503 because the
// server is at its stream cap, say), the browser gives up on that
// EventSource for good. The extension (htmx-ext-sse 2.2.4) then makes a
// new one for the same URL after a back-off, through
// htmx.createEventSource(url). A new EventSource sends no Last-Event-ID,
// so the server would answer as for a new page: ?history=N again (shown
// twice), and nothing of what was published in between.
//
// The extension only defines htmx.createEventSource when it is undefined,
// so this script, loaded between htmx.min.js and sse.min.js, supplies it:
// the same EventSource, plus ?lastEventId=<the last id this page got from
// that URL> once there is one. The server takes lastEventId like the
// Last-Event-ID header (which still wins when the browser sends it on a
// reconnect of its own), so the page gets exactly what it missed.
//
// Which id was last: the extension listens on the EventSource for each
// event name the page uses (sse-swap, hx-trigger="sse:..."), so every
// listener it adds is wrapped to note the event's lastEventId first. An
// event the page does not listen for was not shown, and may come again.
// Streams without ids (Example 1) keep their URL: nothing changes for them.
(function () {
  'use strict';
  if (typeof htmx === 'undefined' || typeof EventSource === 'undefined') return;

  var lastIds = Object.create(null); // sse-connect URL -> last id seen

  function withLastId(url, id) {
    var hash = url.indexOf('#');
    var frag = hash >= 0 ? url.slice(hash) : '';
    var base = hash >= 0 ? url.slice(0, hash) : url;
    var q = base.indexOf('?');
    var path = q >= 0 ? base.slice(0, q) : base;
    var params = new URLSearchParams(q >= 0 ? base.slice(q + 1) : '');
    params.set('lastEventId', id);
    return path + '?' + params.toString() + frag;
  }

  htmx.createEventSource = function (url) {
    var id = lastIds[url];
    var source = new EventSource(id ? withLastId(url, id) : url,
                                 { withCredentials: true });
    var add = source.addEventListener;
    source.addEventListener = function (type, listener, options) {
      var noted = function (event) {
        if (event && event.lastEventId) lastIds[url] = event.lastEventId;
        return listener.apply(this, arguments);
      };
      // removeEventListener(type, listener) must still find it.
      listener.__sseResumeNoted = listener.__sseResumeNoted || noted;
      return add.call(this, type, listener.__sseResumeNoted, options);
    };
    var remove = source.removeEventListener;
    source.removeEventListener = function (type, listener, options) {
      return remove.call(this, type,
                         (listener && listener.__sseResumeNoted) || listener,
                         options);
    };
    return source;
  };
}());
