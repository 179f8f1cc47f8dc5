// interplay review report: the concordance page (keyword in context).
// Plain JavaScript, no libraries. The passages come from a JSON block in the page; every
// piece of text reaches the page through textContent, never as markup. Matching follows
// `interplay kwic`: whole words, case-insensitive, the words of a phrase separated by any
// whitespace; offsets and the 60-character contexts count Unicode code points, as Python
// does, so a hit reads the same here as on the command line.
// A link such as concordance.html#q=market&code=competition.tendering presets the search.
(function () {
  "use strict";
  var WIDTH = 60;
  var passages = JSON.parse(document.getElementById("kwic-passages").textContent);
  var labels = JSON.parse(document.getElementById("kwic-labels").textContent);
  var termInput = document.getElementById("kwic-term");
  var codeSelect = document.getElementById("kwic-code");
  var siteSelect = document.getElementById("kwic-site");
  var count = document.getElementById("kwic-count");
  var table = document.getElementById("kwic-table");
  var rows = document.getElementById("kwic-rows");

  function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&"); }

  function pattern(term) {
    var words = term.split(/\s+/).filter(Boolean);
    if (!words.length) { return null; }
    return new RegExp("(?<![\\p{L}\\p{N}_])" + words.map(escapeRegExp).join("\\s+") +
                      "(?![\\p{L}\\p{N}_])", "giu");
  }

  function collapsed(chars) { return chars.join("").replace(/\s+/g, " "); }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  // Every hit in the chosen passages: [passage, start, end, left, match, right] in code points.
  function occurrences(regex, code, site) {
    var found = [];
    passages.forEach(function (p) {
      if ((code && p.codes.indexOf(code) < 0) || (site && p.site !== site)) { return; }
      regex.lastIndex = 0;
      var chars = null;
      var match;
      while ((match = regex.exec(p.text)) !== null) {
        chars = chars || Array.from(p.text);
        var begin = Array.from(p.text.slice(0, match.index)).length;
        var end = begin + Array.from(match[0]).length;
        found.push([p, p.start + begin, p.start + end,
                    collapsed(chars.slice(Math.max(0, begin - WIDTH), begin)),
                    match[0], collapsed(chars.slice(end, end + WIDTH))]);
      }
    });
    return found;
  }

  function search() {
    var term = termInput.value.trim();
    var regex = pattern(term);
    rows.textContent = "";
    var state = new URLSearchParams();
    if (term) { state.set("q", term); }
    if (codeSelect.value) { state.set("code", codeSelect.value); }
    if (siteSelect.value) { state.set("site", siteSelect.value); }
    history.replaceState(null, "", state.toString() ? "#" + state.toString() : "#");
    if (!regex) {
      table.hidden = true;
      count.textContent = "Type a word to see every occurrence.";
      return;
    }
    var found = occurrences(regex, codeSelect.value, siteSelect.value);
    var inPassages = new Set(found.map(function (hit) { return hit[0].id; })).size;
    count.textContent = found.length + " occurrence" + (found.length === 1 ? "" : "s") +
      " in " + inPassages + " passage" + (inPassages === 1 ? "" : "s");
    found.forEach(function (hit, index) {
      var p = hit[0];
      var row = document.createElement("tr");
      row.className = "hit";
      row.dataset.passage = p.id;
      row.dataset.start = String(hit[1]);
      row.dataset.end = String(hit[2]);
      cell(row, String(index + 1), "num");
      cell(row, hit[3], "left");
      cell(row, hit[4], "match");
      cell(row, hit[5], "right");
      var where = cell(row, "", "where");
      var link = document.createElement("a");
      link.href = p.href;
      link.textContent = p.doc + " " + hit[1] + "–" + hit[2];
      link.title = p.id;
      where.appendChild(link);
      cell(row, p.site, "");
      var codes = cell(row, "", "codes");
      p.codes.forEach(function (code) {
        var chip = document.createElement("span");
        chip.className = "chip code-" + code.replace(/\./g, "-").replace(/[^A-Za-z0-9_-]+/g, "-");
        chip.title = code;
        chip.textContent = labels[code] || code;
        codes.appendChild(chip);
        codes.appendChild(document.createTextNode(" "));
      });
      rows.appendChild(row);
    });
    table.hidden = found.length === 0;
  }

  function fromHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    termInput.value = params.get("q") || "";
    [[codeSelect, params.get("code")], [siteSelect, params.get("site")]].forEach(function (pair) {
      var wanted = pair[1];
      pair[0].value = wanted && Array.prototype.some.call(pair[0].options, function (o) {
        return o.value === wanted;
      }) ? wanted : "";
    });
  }

  document.getElementById("kwic-form").addEventListener("submit", function (event) {
    event.preventDefault();
  });
  termInput.addEventListener("input", search);
  codeSelect.addEventListener("change", search);
  siteSelect.addEventListener("change", search);
  window.addEventListener("hashchange", function () { fromHash(); search(); });
  fromHash();
  search();
}());
