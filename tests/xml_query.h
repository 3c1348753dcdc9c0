// A parsed XML document queried by XPath (libxml2), for tests that check what an XML
// response carries. Shared by the unit and integration tests.
#pragma once

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cb::testing {

class XmlQuery {
 public:
  // A test failure when `text` is not well-formed XML.
  explicit XmlQuery(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "response.xml", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
             xmlFreeDoc) {
    EXPECT_NE(doc_, nullptr) << "not well-formed XML:\n" << text;
  }
  bool ok() const { return doc_ != nullptr; }
  // The text of every node the expression selects, in document order.
  std::vector<std::string> All(const std::string& xpath) const {
    std::vector<std::string> out;
    if (!doc_) return out;
    std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(
        xmlXPathNewContext(doc_.get()), xmlXPathFreeContext);
    std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> r(
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()),
        xmlXPathFreeObject);
    if (!r || r->nodesetval == nullptr) return out;
    for (int i = 0; i < r->nodesetval->nodeNr; ++i) {
      xmlChar* t = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
      out.emplace_back(t != nullptr ? reinterpret_cast<const char*>(t) : "");
      xmlFree(t);
    }
    return out;
  }
  // The text of the one node the expression selects (a test failure when not exactly one).
  std::string One(const std::string& xpath) const {
    std::vector<std::string> all = All(xpath);
    EXPECT_EQ(all.size(), 1u) << xpath;
    return all.empty() ? std::string() : all.front();
  }

 private:
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc_;
};

}  // namespace cb::testing
