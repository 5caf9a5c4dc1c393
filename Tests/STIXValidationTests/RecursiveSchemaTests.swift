import STIX
@testable import STIXValidation
import Testing

/// Compiled schemas that refer to themselves: the link that closes the cycle forwards to the schema it leads to.
@Suite struct RecursiveSchemaTests {
    @Test func aSchemaThatRefersToItselfChecksEveryLevel() throws {
        let document = try JSONParser().parse(#"""
            {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "child": {"$ref": "#"},
             "children": {"type": "array", "items": {"$ref": "tree.json"}}}}
            """#)
        let library = SchemaLibrary(documents: ["schemas/tree.json": document])
        let tree = try #require(library.byName["tree"])
        func violations(_ text: String) throws -> [String] {
            var found: [SchemaViolation] = []
            _ = tree.check(try JSONParser().parse(text), &found)
            return found.map { "\($0.path): \($0.message)" }
        }
        #expect(try violations(#"{"name": "a", "child": {"name": "b", "children": [{"name": "c"}]}}"#).isEmpty)
        #expect(try violations(#"{"name": "a", "child": {"name": "b", "child": {"name": 5}}}"#)
            == ["child.child.name: 5 is not of type 'string'"])
        #expect(try violations(#"{"name": "a", "children": [{"name": "b"}, {"child": {"name": "d"}}]}"#)
            == ["children[1]: 'name' is a required property"])
    }
}
