// Renders a history.person reply as a self-contained document for the court
// and the CPS: a timeline of every instrument version, breach, arrest, release
// and alert outcome, oldest first.  Pure functions.
#pragma once

#include <boost/json.hpp>

#include <string>

namespace bw {

std::string HistoryMarkdown(const boost::json::object& reply);
std::string HistoryHtml(const boost::json::object& reply);

}  // namespace bw
