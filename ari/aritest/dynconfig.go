package aritest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// writeOnlyAttributes are accepted on PUT but not listed in the returned object.
var writeOnlyAttributes = map[string]map[string]bool{
	"endpoint": {"disallow": true},
}

// serveDynamicConfig implements /asterisk/config/dynamic/{configClass}/{objectType}/{id} as
// observed in transcript a.
func (s *Server) serveDynamicConfig(w http.ResponseWriter, r *http.Request, class, typ, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if class != "res_pjsip" {
		return writeError(w, http.StatusNotFound, fmt.Sprintf("configClass '%s' not found", class))
	}
	defaults, ok := sorceryDefaults[typ]
	if !ok {
		return writeError(w, http.StatusNotFound, fmt.Sprintf("objectType '%s' not found", typ))
	}
	objs := s.sorcery[typ]
	obj, exists := objs[id]
	static := typ == "endpoint" && s.isStaticEndpointLocked(id)
	switch r.Method {
	case http.MethodGet:
		if static {
			return writeJSON(w, http.StatusOK, defaults)
		}
		if !exists {
			return writeError(w, http.StatusNotFound, fmt.Sprintf("Object with id '%s' not found", id))
		}
		return writeJSON(w, http.StatusOK, obj)
	case http.MethodDelete:
		if static {
			return writeError(w, http.StatusForbidden, fmt.Sprintf("Could not delete object with id '%s'", id))
		}
		if !exists {
			return writeError(w, http.StatusNotFound, fmt.Sprintf("Object with id '%s' not found", id))
		}
		delete(objs, id)
		order := s.sorcOrder[typ]
		for i, o := range order {
			if o == id {
				s.sorcOrder[typ] = append(order[:i], order[i+1:]...)
				break
			}
		}
		return noContent(w)
	case http.MethodPut:
		if static {
			return writeError(w, http.StatusForbidden, fmt.Sprintf("Cannot update sorcery objects of type '%s'", typ))
		}
		if s.faults.DynamicConfigForbidden {
			return writeError(w, http.StatusForbidden, fmt.Sprintf("Cannot create sorcery objects of type '%s'", typ))
		}
		var body struct {
			Fields []attr `json:"fields"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				return writeError(w, http.StatusBadRequest, "Request body is not valid JSON")
			}
		}
		base := defaults
		if exists {
			base = obj
		}
		next := append([]attr(nil), base...)
		for _, f := range body.Fields {
			if writeOnlyAttributes[typ][f.Attribute] {
				continue
			}
			found := false
			for i := range next {
				if next[i].Attribute == f.Attribute {
					next[i].Value = formatAttr(typ, f.Attribute, f.Value)
					found = true
				}
			}
			if !found {
				return writeError(w, http.StatusBadRequest, fmt.Sprintf("Creation of object '%s' failed field value validation", id))
			}
		}
		if typ == "registration" && (attrValue(next, "client_uri") == "" || attrValue(next, "server_uri") == "") {
			return writeError(w, http.StatusBadRequest, fmt.Sprintf("Creation of object '%s' failed field value validation", id))
		}
		if objs == nil {
			objs = map[string][]attr{}
			s.sorcery[typ] = objs
		}
		if !exists {
			s.sorcOrder[typ] = append(s.sorcOrder[typ], id)
		}
		objs[id] = next
		return writeJSON(w, http.StatusOK, next)
	}
	return writeError(w, http.StatusNotFound, "Resource not found")
}

// formatAttr reproduces how Asterisk echoes some values, e.g. allow=ulaw,alaw -> "(ulaw|alaw)".
func formatAttr(typ, name, value string) string {
	if typ == "endpoint" && name == "allow" {
		return "(" + strings.Join(splitList(value), "|") + ")"
	}
	return value
}

func attrValue(attrs []attr, name string) string {
	for _, a := range attrs {
		if a.Attribute == name {
			return a.Value
		}
	}
	return ""
}

// DynamicObject returns the attributes of a res_pjsip object created through the dynamic
// configuration API (nil if absent), for test assertions.
func (s *Server) DynamicObject(typ, id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.sorcery[typ][id]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(obj))
	for _, a := range obj {
		out[a.Attribute] = a.Value
	}
	return out
}

func (s *Server) isStaticEndpointLocked(id string) bool {
	for _, e := range s.cfg.staticEndpoints {
		if e == id {
			return true
		}
	}
	return false
}

// ---- /endpoints ----

func (s *Server) endpointsLocked() []endpointJSON {
	names := append([]string(nil), s.cfg.staticEndpoints...)
	names = append(names, s.sorcOrder["endpoint"]...)
	out := make([]endpointJSON, 0, len(names))
	for _, n := range names {
		out = append(out, s.endpointJSONLocked(n))
	}
	return out
}

func (s *Server) endpointJSONLocked(name string) endpointJSON {
	state := "offline"
	if s.isStaticEndpointLocked(name) {
		state = "online"
	} else {
		for _, aor := range splitList(attrValue(s.sorcery["endpoint"][name], "aors")) {
			if attrValue(s.sorcery["aor"][aor], "contact") != "" {
				state = "online"
			}
		}
	}
	ids := []string{}
	for _, id := range s.chanOrder {
		c := s.channels[id]
		if c.kind != kindExternalMedia && c.kind != kindSnoop && strings.HasPrefix(c.name, "PJSIP/"+name+"-") {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return endpointJSON{Technology: "PJSIP", Resource: name, State: state, ChannelIDs: ids}
}

func (s *Server) routeEndpoints(w http.ResponseWriter, r *http.Request, seg []string) int {
	if r.Method != http.MethodGet {
		return writeError(w, http.StatusNotFound, "Resource not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.endpointsLocked()
	switch len(seg) {
	case 0:
		return writeJSON(w, http.StatusOK, all)
	case 1:
		list := []endpointJSON{}
		for _, e := range all {
			if strings.EqualFold(e.Technology, seg[0]) {
				list = append(list, e)
			}
		}
		if len(list) == 0 && !strings.EqualFold(seg[0], "PJSIP") {
			return writeError(w, http.StatusNotFound, "Endpoints not found")
		}
		return writeJSON(w, http.StatusOK, list)
	case 2:
		for _, e := range all {
			if strings.EqualFold(e.Technology, seg[0]) && e.Resource == seg[1] {
				return writeJSON(w, http.StatusOK, e)
			}
		}
		return writeError(w, http.StatusNotFound, "Endpoint not found")
	}
	return writeError(w, http.StatusNotFound, "Resource not found")
}
