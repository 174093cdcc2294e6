package inbound_test

import "encoding/json"

// toMap turns event data (structs or maps) into a map, as a browser sees it.
func toMap(v any) (map[string]any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m) == nil
}
