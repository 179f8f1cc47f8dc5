// interplay review report: filters for the coded passage list (index.html).
// Plain JavaScript, no libraries: the report opens from disk without a network.
// Every list item carries its codes, orientation, site, actor, review states (the review
// filter's values it matches: machine | reviewed, disagreement, conflict) and the scores
// of its codes as data attributes; filtering toggles `hidden`. A link such as
// index.html#passages?code=competition.tendering&site=harbourside presets the filters.
(function () {
  "use strict";
  var list = document.getElementById("passage-list");
  if (!list) { return; }

  var selects = Array.prototype.slice.call(document.querySelectorAll("#filters select[data-filter]"));
  var scoreInput = document.getElementById("filter-score");
  var scoreValue = document.getElementById("filter-score-value");
  var wordsInput = document.getElementById("filter-words");
  var visibleCount = document.getElementById("visible-count");
  var noMatch = document.getElementById("no-match");

  var items = Array.prototype.slice.call(list.querySelectorAll("li.passage-item")).map(function (element) {
    var codes = (element.dataset.codes || "").split(" ").filter(Boolean);
    var scores = JSON.parse(element.dataset.scores || "{}");
    var best = 0;
    codes.forEach(function (code) { best = Math.max(best, scores[code] || 0); });
    var textElement = element.querySelector(".passage-text");
    return {
      element: element,
      values: {code: codes, orientation: [element.dataset.orientation],
               site: [element.dataset.site], actor: [element.dataset.actor],
               review: (element.dataset.review || "").split(" ").filter(Boolean)},
      scores: scores,
      best: best,
      text: (textElement ? textElement.textContent : "").toLowerCase()
    };
  });

  function chosen() {
    var filters = {};
    selects.forEach(function (select) { filters[select.dataset.filter] = select.value; });
    return filters;
  }

  // Does the item pass every filter except `skip` (used to count each option's matches)?
  function passes(item, filters, minScore, words, skip) {
    for (var name in filters) {
      if (name !== skip && filters[name] && item.values[name].indexOf(filters[name]) < 0) { return false; }
    }
    var score = filters.code ? (item.scores[filters.code] || 0) : item.best;
    if (score + 1e-9 < minScore) { return false; }
    if (words && item.text.indexOf(words) < 0) { return false; }
    return true;
  }

  function apply() {
    var filters = chosen();
    var minScore = parseFloat(scoreInput.value) || 0;
    var words = wordsInput.value.trim().toLowerCase();
    scoreValue.textContent = minScore.toFixed(2);
    var shown = 0;
    items.forEach(function (item) {
      var visible = passes(item, filters, minScore, words, null);
      item.element.hidden = !visible;
      if (visible) { shown += 1; }
    });
    visibleCount.textContent = String(shown);
    noMatch.hidden = shown > 0;
    // Each option shows how many passages it would leave, given the other filters.
    selects.forEach(function (select) {
      var name = select.dataset.filter;
      var counts = {};
      var total = 0;
      items.forEach(function (item) {
        if (!passes(item, filters, minScore, words, name)) { return; }
        total += 1;
        item.values[name].forEach(function (value) { counts[value] = (counts[value] || 0) + 1; });
      });
      Array.prototype.forEach.call(select.options, function (option) {
        var n = option.value ? (counts[option.value] || 0) : total;
        option.textContent = option.dataset.label + " (" + n + ")";
      });
    });
  }

  // "#passages?code=...&site=..." sets the filters and scrolls to the list.
  function fromHash() {
    var hash = window.location.hash;
    var mark = hash.indexOf("?");
    if (hash.indexOf("#passages") !== 0 || mark < 0) { return false; }
    var params = new URLSearchParams(hash.slice(mark + 1));
    selects.forEach(function (select) {
      var wanted = params.get(select.dataset.filter);
      select.value = wanted !== null && Array.prototype.some.call(select.options, function (o) {
        return o.value === wanted;
      }) ? wanted : "";
    });
    if (params.get("min")) { scoreInput.value = params.get("min"); }
    if (params.get("words")) { wordsInput.value = params.get("words"); }
    return true;
  }

  function applyHash() {
    if (fromHash()) {
      apply();
      document.getElementById("passages").scrollIntoView();
    }
  }

  selects.forEach(function (select) { select.addEventListener("change", apply); });
  scoreInput.addEventListener("input", apply);
  wordsInput.addEventListener("input", apply);
  document.getElementById("filters").addEventListener("reset", function () {
    window.setTimeout(apply, 0);  // after the form has restored its defaults
  });
  window.addEventListener("hashchange", applyHash);
  apply();
  applyHash();
}());
