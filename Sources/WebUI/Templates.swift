import Mustache

/// The pages' Mustache templates and stylesheet, compiled into the binary (one file to install). `{{x}}` escapes its
/// value; `{{{x}}}` is used only for HTML this module built with ``HTML`` (which escapes every value it is given).
enum Templates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("layout", layout), ("login", login), ("error", error), ("home", home), ("collections", collections),
        ("collection", collection), ("object", object), ("search", search), ("matrices", matrices), ("matrix", matrix),
        ("sharing", sharing), ("created", created), ("reports", reports), ("report", report), ("upload", upload),
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · {{node}}</title>
        <link rel="stylesheet" href="/ui/static/style.css">
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
        <a class="brand" href="/ui/">{{node}}</a>
        {{#user}}
        <nav aria-label="Main"><a href="/ui/">Home</a> <a href="/ui/collections/">Collections</a> <a href="/ui/matrices/">Matrices</a> <a href="/ui/report/">Report</a> <a href="/ui/upload">Upload</a></nav>
        <form class="search" role="search" action="/ui/search" method="get">
        <label for="q" class="hidden">Search</label>
        <input id="q" name="q" type="search" value="{{query}}" placeholder="T1059, 198.51.100.7, a name…">
        <button type="submit">Search</button>
        </form>
        <form class="signout" action="/ui/logout" method="post">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span class="who">{{name}} · {{org}}</span> <button type="submit">Sign out</button>
        </form>
        {{/user}}
        </header>
        <main id="main">
        {{{content}}}
        </main>
        <footer><a href="/transparency/">Transparency report</a> · <a href="/taxii2/">TAXII 2.1 discovery</a> · Meridian</footer>
        </body>
        </html>
        """

    static let login = """
        <h1>Sign in</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form class="login" method="post" action="/ui/login">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required value="{{username}}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        </form>
        """

    static let error = """
        <h1>{{status}} {{reason}}</h1>
        <p class="error" role="alert">{{message}}</p>
        <p><a href="/ui/">Home</a></p>
        """

    static let home = """
        <h1>Shared in the last {{days}} days</h1>
        {{^collections}}<p>You may read no collection on this node.</p>{{/collections}}
        {{#collections}}
        <section class="card">
        <h2><a href="/ui/collections/{{key}}/">{{title}}</a></h2>
        <p>{{count}} object versions added{{#capped}} (at least: only the first {{cap}} were counted){{/capped}}.</p>
        {{#hasCounts}}
        <div class="columns">
        <table><caption>By kind</caption><thead><tr><th scope="col">Kind</th><th scope="col">Versions</th></tr></thead>
        <tbody>{{#kinds}}<tr><td><a href="/ui/collections/{{key}}/?type={{name}}">{{name}}</a></td><td class="num">{{count}}</td></tr>{{/kinds}}</tbody></table>
        <table><caption>By partner</caption><thead><tr><th scope="col">Partner</th><th scope="col">Versions</th></tr></thead>
        <tbody>{{#partners}}<tr><td>{{name}}</td><td class="num">{{count}}</td></tr>{{/partners}}</tbody></table>
        </div>
        {{/hasCounts}}
        </section>
        {{/collections}}
        {{#hasRecent}}
        <section>
        <h2>Most recent</h2>
        <table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Markings</th><th scope="col">Added</th></tr></thead>
        <tbody>{{{recent}}}</tbody></table>
        </section>
        {{/hasRecent}}
        """

    static let collections = """
        <h1>Collections</h1>
        {{^collections}}<p>You may read no collection on this node.</p>{{/collections}}
        <ul class="cards">
        {{#collections}}<li class="card"><h2><a href="/ui/collections/{{key}}/">{{title}}</a></h2>
        <p>{{description}}</p><p class="muted">API root /{{root}}/ · id {{id}} · you may {{access}}</p></li>{{/collections}}
        </ul>
        """

    static let collection = """
        <h1>{{title}}</h1>
        <p>{{description}}</p>
        <form class="filters" method="get" action="/ui/collections/{{key}}/">
        <label for="type">Kind</label>
        <select id="type" name="type"><option value="">any</option>{{#types}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/types}}</select>
        <label for="tlp">TLP</label>
        <select id="tlp" name="tlp"><option value="">any</option>{{#tlps}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/tlps}}</select>
        <label for="partner">Partner</label>
        <select id="partner" name="partner"><option value="">any</option>{{#partners}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/partners}}</select>
        <label for="since">Added since</label>
        <input id="since" name="since" type="date" value="{{since}}">
        <button type="submit">Filter</button>
        </form>
        {{^hasRows}}<p>No object matches.</p>{{/hasRows}}
        {{#hasRows}}
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Markings</th><th scope="col">From</th><th scope="col">Added</th></tr></thead>
        <tbody>
        {{{rows}}}
        </tbody>
        </table>
        {{/hasRows}}
        {{#next}}<p><a rel="next" href="{{next}}">Next page</a></p>{{/next}}
        """

    static let object = """
        <p class="muted">{{type}}</p>
        <h1>{{name}}</h1>
        <p>{{{markings}}}{{#revoked}} <span class="revoked">revoked</span>{{/revoked}}</p>
        <section>
        <h2>Properties</h2>
        <dl class="properties">
        {{#properties}}<dt>{{label}}</dt><dd>{{{value}}}</dd>{{/properties}}
        </dl>
        </section>
        <section>
        <h2>Provenance</h2>
        <ul>{{#provenance}}<li>{{.}}</li>{{/provenance}}</ul>
        </section>
        <section>
        <h2>Versions</h2>
        <ol>{{#versions}}<li>{{#current}}<strong>{{/current}}<a href="/ui/objects/{{id}}?version={{added}}">{{label}}</a>{{#current}}</strong>{{/current}} <span class="muted">in {{collection}}</span></li>{{/versions}}</ol>
        </section>
        {{#moreReferring}}<p class="muted">More than {{referringShown}} objects you may read refer to this one: the
        {{referringShown}} most recent are shown below (relationships, sightings, discussion, other references).</p>{{/moreReferring}}
        {{#hasRelationships}}
        <section>
        <h2>Relationships</h2>
        <table><thead><tr><th scope="col">Direction</th><th scope="col">Relationship</th><th scope="col">Other end</th></tr></thead>
        <tbody>{{{relationships}}}</tbody></table>
        </section>
        {{/hasRelationships}}
        {{#hasSightings}}
        <section>
        <h2>Sightings</h2>
        <ul>{{{sightings}}}</ul>
        </section>
        {{/hasSightings}}
        <section id="discussion">
        <h2>Discussion</h2>
        {{^discussion}}<p class="muted">No note or opinion you may read is attached to this object yet.</p>{{/discussion}}
        {{#discussion}}<article class="card"><p class="muted">{{kind}} by {{author}} · {{{when}}} · {{{markings}}}</p>
        {{#abstract}}<p><strong>{{abstract}}</strong></p>{{/abstract}}<p>{{text}}</p><p class="muted"><a href="/ui/objects/{{id}}">{{id}}</a></p></article>{{/discussion}}
        {{#canWrite}}
        <form class="stack" method="post" action="/ui/objects/{{objectID}}/consult">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>Add</legend>
        <label><input type="radio" name="kind" value="note" checked> a note</label>
        <label><input type="radio" name="kind" value="opinion"> an opinion</label>
        </fieldset>
        <label for="abstract">Summary (notes)</label><input id="abstract" name="abstract" maxlength="500">
        <label for="opinion">Opinion</label>
        <select id="opinion" name="opinion"><option value="">(for an opinion)</option><option>strongly-agree</option><option>agree</option><option>neutral</option><option>disagree</option><option>strongly-disagree</option></select>
        <label for="content">Text</label><textarea id="content" name="content" rows="4"></textarea>
        {{> sharing}}
        <button type="submit">Add to the discussion</button>
        </form>
        {{/canWrite}}
        </section>
        {{#hasMentions}}
        <section>
        <h2>Referred to by</h2>
        <ul>{{{mentions}}}</ul>
        </section>
        {{/hasMentions}}
        {{#hasExplanation}}
        <section>
        <h2>Who can read this version</h2>
        <p class="muted">Shown to admins: the sharing policy's decision for each org of the partnership.</p>
        <table><thead><tr><th scope="col">Org</th><th scope="col">Reads it</th><th scope="col">Rule</th></tr></thead>
        <tbody>{{#explanation}}<tr><td>{{org}}</td><td>{{allowed}}</td><td>{{rule}}</td></tr>{{/explanation}}</tbody></table>
        </section>
        {{/hasExplanation}}
        """

    static let search = """
        <h1>Search</h1>
        <form class="filters" role="search" method="get" action="/ui/search">
        <label for="q2">Words, names, ids, values</label>
        <input id="q2" name="q" type="search" value="{{query}}">
        <button type="submit">Search</button>
        </form>
        {{#message}}<p>{{message}}</p>{{/message}}
        {{#hasResults}}
        <p>{{count}} objects found.</p>
        <table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Markings</th><th scope="col">Collection</th><th scope="col">Added</th></tr></thead>
        <tbody>{{{results}}}</tbody></table>
        {{/hasResults}}
        """

    static let matrices = """
        <h1>Matrices</h1>
        {{^hasMatrices}}<p>No collection you may read holds an ATT&amp;CK or DISARM matrix.</p>{{/hasMatrices}}
        <ul>{{#matrices}}<li><a href="/ui/matrices/{{id}}">{{name}}</a> <span class="muted">{{tactics}} tactics, in {{collection}}</span></li>{{/matrices}}</ul>
        """

    static let matrix = """
        <h1>{{name}}</h1>
        <p class="muted">Techniques of {{collection}} by tactic. A cell is darker the more objects you may read refer to the
        technique (relationships, sightings, reports, notes): none, 1, 2 to 4, 5 to 19, 20 or more.</p>
        <div class="matrix">
        {{#columns}}
        <section class="tactic" aria-label="{{name}}">
        <h2>{{name}} <span class="muted">({{techniques}})</span></h2>
        <ul>{{#cells}}<li class="shade-{{shade}}"><a href="/ui/objects/{{id}}">{{external}} {{name}}</a> <span class="count" title="objects referring to it">{{count}}</span></li>{{/cells}}</ul>
        </section>
        {{/columns}}
        </div>
        """

    /// The sharing part of every form: collection, TLP, releasability.
    static let sharing = """
        <label for="collection">Collection</label>
        <select id="collection" name="collection" required>{{#writable}}<option value="{{key}}"{{#selected}} selected{{/selected}}>{{title}}</option>{{/writable}}</select>
        <label for="tlp">TLP</label>
        <select id="tlp" name="tlp">{{#tlpChoices}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/tlpChoices}}</select>
        {{#hasReleasability}}
        <label for="releasability">Releasability</label>
        <select id="releasability" name="releasability"><option value="">(none: the TLP alone decides)</option>{{#releasability}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/releasability}}</select>
        {{/hasReleasability}}
        """

    static let created = """
        <h1>{{title}}</h1>
        <p role="status">Stored in {{collection}}: these objects now travel by TAXII and federation like any other.</p>
        <table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th></tr></thead>
        <tbody>{{#objects}}<tr><td><a href="/ui/objects/{{id}}">{{name}}</a></td><td>{{type}}</td></tr>{{/objects}}</tbody></table>
        """

    static let reports = """
        <h1>Report</h1>
        <ul>{{#kinds}}<li><a href="/ui/report/{{path}}">{{title}}</a></li>{{/kinds}}</ul>
        <p>Or <a href="/ui/upload">upload a STIX bundle</a>.</p>
        """

    static let report = """
        <h1>{{title}}</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{^canWrite}}<p class="error">You may write to no collection on this node.</p>{{/canWrite}}
        <form class="stack" method="post" action="/ui/report/{{kind}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="name">Title</label><input id="name" name="name" required maxlength="300" value="{{v_name}}">
        <label for="description">Description</label><textarea id="description" name="description" rows="4">{{v_description}}</textarea>
        {{#cyber}}
        <label for="observables">Observables, one per line (IP addresses, domain names, URLs, MD5, SHA-1 or SHA-256 hashes): each becomes an indicator</label>
        <textarea id="observables" name="observables" rows="5">{{v_observables}}</textarea>
        <label for="techniques">ATT&amp;CK techniques (ids such as T1059, T1566.001)</label><input id="techniques" name="techniques" value="{{v_techniques}}">
        {{/cyber}}
        {{#disinformation}}
        <label for="narratives">Narratives, one per line</label><textarea id="narratives" name="narratives" rows="4">{{v_narratives}}</textarea>
        <label for="channels">Channels, one per line (accounts, sites, groups that carried it)</label><textarea id="channels" name="channels" rows="4">{{v_channels}}</textarea>
        <label for="techniques">DISARM techniques (ids such as T0049)</label><input id="techniques" name="techniques" value="{{v_techniques}}">
        {{/disinformation}}
        {{#infrastructure}}
        <label for="asset">Name of the infrastructure (a cable, a pipeline, a site)</label><input id="asset" name="asset" required maxlength="300" value="{{v_asset}}">
        <label for="asset_type">Kind of infrastructure</label>
        <select id="asset_type" name="asset_type">{{#assets}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/assets}}</select>
        <label for="latitude">Latitude (degrees, −90 to 90)</label><input id="latitude" name="latitude" inputmode="decimal" required value="{{v_latitude}}">
        <label for="longitude">Longitude (degrees, −180 to 180)</label><input id="longitude" name="longitude" inputmode="decimal" required value="{{v_longitude}}">
        <label for="country">Country (two letters, optional)</label><input id="country" name="country" maxlength="2" value="{{v_country}}">
        <label for="cause">Cause</label>
        <select id="cause" name="cause">{{#causes}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/causes}}</select>
        {{/infrastructure}}
        {{> sharing}}
        <button type="submit">Report</button>
        </form>
        """

    static let upload = """
        <h1>Upload</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#summary}}
        <section role="status"><h2>{{file}}</h2><p>{{stored}} objects stored in {{collection}}, {{rejected}} refused.</p>
        <ul>{{#failures}}<li>{{id}}: {{message}}</li>{{/failures}}</ul></section>
        {{/summary}}
        {{^canWrite}}<p class="error">You may write to no collection on this node.</p>{{/canWrite}}
        <form class="stack" method="post" action="/ui/upload" enctype="multipart/form-data">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="file">A STIX 2.1 bundle in JSON (at most {{max}} MiB); its objects keep their own markings</label>
        <input id="file" name="file" type="file" accept=".json,application/json,application/stix+json" required>
        <label for="collection">Collection</label>
        <select id="collection" name="collection" required>{{#writable}}<option value="{{key}}">{{title}}</option>{{/writable}}</select>
        <button type="submit">Upload</button>
        </form>
        """

    static let style = """
        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --paper: #ffffff; --wash: #f6f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f0b400; outline-offset: 1px; }
        .skip { position: absolute; left: -1000px; }
        .skip:focus { left: 8px; top: 8px; background: var(--paper); padding: 4px; }
        .hidden { position: absolute; left: -1000px; }
        header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--line); background: var(--wash); }
        header .brand { font-weight: 700; text-decoration: none; color: var(--ink); }
        header nav a { margin-right: 10px; }
        header form { display: flex; gap: 6px; align-items: center; margin: 0; }
        header .search { flex: 1 1 260px; }
        header .search input { flex: 1; min-width: 0; }
        main { max-width: 1100px; margin: 0 auto; padding: 16px; }
        footer { max-width: 1100px; margin: 24px auto; padding: 8px 16px; color: var(--muted); border-top: 1px solid var(--line); }
        input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--paper); color: var(--ink); }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        .login, .stack { display: grid; gap: 6px; max-width: 640px; }
        fieldset { border: 1px solid var(--line); border-radius: 4px; }
        textarea { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; }
        .filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 12px; }
        table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        caption { text-align: left; font-weight: 600; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
        .cards { list-style: none; padding: 0; }
        .card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px; margin-bottom: 12px; }
        .muted { color: var(--muted); }
        .error { color: #8b0000; font-weight: 600; }
        .properties { display: grid; grid-template-columns: minmax(120px, 220px) 1fr; gap: 4px 16px; }
        .properties dt { font-weight: 600; }
        .properties dd { margin: 0; overflow-wrap: anywhere; }
        dl dl { margin: 0; padding-left: 8px; border-left: 2px solid var(--line); }
        code { background: var(--wash); padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
        .tlp, .marking, .revoked { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 0.85em; font-weight: 700; background: #000; }
        .tlp-clear { color: #fff; }
        .tlp-green { color: #33ff00; }
        .tlp-amber, .tlp-amber-strict { color: #ffc000; }
        .tlp-red { color: #ff2b2b; }
        .marking { background: var(--wash); border: 1px solid var(--line); font-weight: 400; }
        .revoked { background: #8b0000; color: #fff; }
        .matrix { display: flex; gap: 6px; overflow-x: auto; align-items: flex-start; }
        .tactic { flex: 0 0 170px; }
        .tactic h2 { font-size: 0.95em; margin: 0 0 4px; }
        .tactic ul { list-style: none; padding: 0; margin: 0; }
        .tactic li { font-size: 0.8em; border: 1px solid var(--line); border-radius: 3px; margin-bottom: 3px; padding: 2px 4px; display: flex; justify-content: space-between; gap: 4px; }
        .shade-0 { background: #ffffff; }
        .shade-1 { background: #e3eefa; }
        .shade-2 { background: #b9d4f1; }
        .shade-3 { background: #7fb0e3; }
        .shade-4 { background: #3d7fc4; }
        .shade-4 a, .shade-4 .count { color: #ffffff; }
        .count { font-variant-numeric: tabular-nums; }
        @media (max-width: 600px) { .properties { grid-template-columns: 1fr; } th, td { padding: 4px; } }
        """
}
