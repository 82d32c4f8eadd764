#include "tools/history_doc.h"

#include <sstream>
#include <vector>

#include "handlers/base/time_util.h"
#include "tools/client.h"

namespace bw {
namespace {

struct Line {
  std::string time;
  std::string what;
  std::string text;
};

std::string Str(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "";
  if (it->value().is_string()) return std::string(it->value().get_string());
  return boost::json::serialize(it->value());
}

// One sentence per history entry.
std::vector<Line> Lines(const boost::json::object& reply) {
  std::vector<Line> out;
  for (const auto& hv : reply.at("history").as_array()) {
    const auto& h = hv.as_object();
    Line l{Str(h, "time"), Str(h, "what"), ""};
    const auto& d = h.at("detail");
    if (!d.is_object()) {
      l.text = boost::json::serialize(d);
      out.push_back(l);
      continue;
    }
    const auto& o = d.get_object();
    if (l.what.rfind("instrument", 0) == 0) {
      l.text = Str(o, "instrument_id") + " version " + Str(o, "version");
      if (auto it = o.find("instrument"); it != o.end() && it->value().is_object()) {
        const auto& ins = it->value().get_object();
        l.text += " (" + Str(ins, "kind") + ", case " + Str(ins, "case_ref") + ", OIC " +
                  Str(ins, "oic") + ", in force " + Str(ins, "valid_from") + " until " +
                  (Str(ins, "valid_until").empty() ? "further order" : Str(ins, "valid_until")) +
                  "). Conditions: ";
        if (auto c = ins.find("conditions"); c != ins.end() && c->value().is_array()) {
          bool first = true;
          for (const auto& cv : c->value().get_array()) {
            if (!cv.is_object()) continue;
            l.text += (first ? "" : "; ") + FormatCondition(cv.get_object());
            first = false;
          }
          if (first) l.text += "none";
        }
        if (auto r = ins.find("risk"); r != ins.end() && r->value().is_object()) {
          l.text += ". " + FormatRisk(r->value());
        }
      }
      if (!Str(o, "reason").empty()) l.text += " — reason: " + Str(o, "reason");
    } else if (l.what == "arrest") {
      l.text = "arrested by " + Str(o, "arresting_officer") + " (reason: " + Str(o, "reason") +
               (Str(o, "custody_suite").empty() ? "" : ", custody suite " + Str(o, "custody_suite")) +
               ")";
    } else if (l.what == "release") {
      l.text = "released: " + Str(o, "outcome") +
               (Str(o, "instrument_id").empty() ? "" : " (" + Str(o, "instrument_id") + ")");
    } else {
      l.text = "[" + Str(o, "severity") + "] " + Str(o, "summary") + " (alert #" + Str(o, "seq") +
               ", " + Str(o, "alert_id") + ")";
      if (auto r = o.find("record"); r != o.end() && r->value().is_object()) {
        const auto& rec = r->value().get_object();
        if (!Str(rec, "outcome").empty()) {
          l.text += " — outcome: " + Str(rec, "outcome") + " recorded by " +
                    Str(rec, "resolved_by") + " at " + Str(rec, "resolved_at");
          if (!Str(rec, "note").empty()) l.text += " (" + Str(rec, "note") + ")";
        } else if (!Str(rec, "acked_at").empty()) {
          l.text += " — acknowledged by " + Str(rec, "acked_by") + ", NO OUTCOME RECORDED";
        } else if (Str(o, "severity") != "info") {
          l.text += " — NOT ACKNOWLEDGED, NO OUTCOME RECORDED";
        }
      }
    }
    out.push_back(l);
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string MdCell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

std::string HistoryMarkdown(const boost::json::object& reply) {
  std::ostringstream md;
  auto lines = Lines(reply);
  md << "# Record of " << Str(reply, "person_id") << "\n\n";
  md << "Produced by breachwatch at " << FormatRfc3339(SystemClock().Now())
     << " from its store. Every instrument version, breach, arrest, release and alert with its "
        "recorded outcome, oldest first. Times are UTC.\n\n";
  md << "| # | time (UTC) | what | detail |\n|---|---|---|---|\n";
  int n = 0;
  for (const auto& l : lines) {
    md << "| " << ++n << " | " << l.time << " | " << MdCell(l.what) << " | " << MdCell(l.text)
       << " |\n";
  }
  if (lines.empty()) md << "| | | nothing recorded | |\n";
  md << "\n" << lines.size() << " record(s).\n";
  return md.str();
}

std::string HistoryHtml(const boost::json::object& reply) {
  std::ostringstream h;
  auto lines = Lines(reply);
  const std::string person = Escape(Str(reply, "person_id"));
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<title>Record of " << person << "</title><style>"
    << "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    << "ol.timeline{list-style:none;border-left:3px solid #555;padding-left:1.5em}"
    << "ol.timeline li{margin:0 0 1em;position:relative}"
    << "ol.timeline li::before{content:'';position:absolute;left:-1.95em;top:.3em;width:.8em;"
    << "height:.8em;border-radius:50%;background:#555}"
    << "li.alert::before{background:#c00}li.arrest::before,li.release::before{background:#06c}"
    << ".t{font-family:monospace;color:#444}.w{font-weight:bold}"
    << "</style></head><body>\n";
  h << "<h1>Record of " << person << "</h1>\n<p>Produced by breachwatch at "
    << FormatRfc3339(SystemClock().Now())
    << " from its store: every instrument version, breach, arrest, release and alert with its "
       "recorded outcome, oldest first. Times are UTC.</p>\n<ol class=\"timeline\">\n";
  for (const auto& l : lines) {
    std::string cls = l.what.rfind("alert", 0) == 0 ? "alert"
                      : l.what == "arrest"          ? "arrest"
                      : l.what == "release"         ? "release"
                                                    : "instrument";
    h << "<li class=\"" << cls << "\"><span class=\"t\">" << Escape(l.time)
      << "</span> <span class=\"w\">" << Escape(l.what) << "</span><br>" << Escape(l.text)
      << "</li>\n";
  }
  if (lines.empty()) h << "<li>nothing recorded</li>\n";
  h << "</ol>\n<p>" << lines.size() << " record(s).</p>\n</body></html>\n";
  return h.str();
}

}  // namespace bw
