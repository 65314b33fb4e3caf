package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/sanse-campus/sanse/engine/ingest"
)

// kustomization is the part of kustomization.yaml the tests read.
type kustomization struct {
	APIVersion         string   `yaml:"apiVersion"`
	Kind               string   `yaml:"kind"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
}

// generatedKeys maps each generated ConfigMap to its keys and the files
// they come from.
func (k kustomization) generatedKeys() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		keys := map[string]string{}
		for _, f := range g.Files {
			key, file, ok := strings.Cut(f, "=")
			if !ok {
				key, file = path.Base(f), f
			}
			keys[key] = file
		}
		out[g.Name] = keys
	}
	return out
}

// object is the part of a Kubernetes object every test reads.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

// service is the part of a Service the tests read.
type service struct {
	Spec struct {
		ClusterIP string            `yaml:"clusterIP"`
		Selector  map[string]string `yaml:"selector"`
	} `yaml:"spec"`
}

// disruptionBudget is the part of a PodDisruptionBudget the tests read.
type disruptionBudget struct {
	Spec struct {
		MaxUnavailable any `yaml:"maxUnavailable"`
		MinAvailable   any `yaml:"minAvailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

// manifests holds the objects kustomization.yaml lists, with the documents
// they were decoded from.
type manifests struct {
	kust    kustomization
	objects []object
	nodes   []*yaml.Node
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	var m manifests
	decodeFile(t, kustomizationFile, &m.kust)
	for _, r := range m.kust.Resources {
		file := filepath.Join(kubernetesDir, r)
		for _, n := range decodeAll(t, file) {
			var o object
			require.NoError(t, n.Decode(&o), file)
			m.objects = append(m.objects, o)
			m.nodes = append(m.nodes, n)
		}
	}
	return m
}

// find returns the node of the object of the given kind and name.
func (m manifests) find(kind, name string) (*yaml.Node, object, bool) {
	for i, o := range m.objects {
		if o.Kind == kind && o.Metadata.Name == name {
			return m.nodes[i], o, true
		}
	}
	return nil, object{}, false
}

func TestKubernetesObjects(t *testing.T) {
	m := loadManifests(t)
	require.Equal(t, "kustomize.config.k8s.io/v1beta1", m.kust.APIVersion)
	require.Equal(t, "Kustomization", m.kust.Kind)
	require.NotEmpty(t, m.objects)
	for _, o := range m.objects {
		require.NotEmpty(t, o.APIVersion, "object %+v has no apiVersion", o.Metadata)
		require.NotEmpty(t, o.Kind, "object %q has no kind", o.Metadata.Name)
		require.NotEmpty(t, o.Metadata.Name, "a %s has no metadata.name", o.Kind)
	}
	for _, kind := range []string{"StatefulSet", "Service", "Secret", "PodDisruptionBudget"} {
		require.True(t, slices.ContainsFunc(m.objects, func(o object) bool { return o.Kind == kind }), "no %s", kind)
	}

	// Every manifest in the directory is applied, and every generator file exists.
	entries, err := os.ReadDir(kubernetesDir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") || e.Name() == "kustomization.yaml" {
			continue
		}
		require.Contains(t, m.kust.Resources, e.Name(), "%s is not listed in kustomization.yaml", e.Name())
	}
	for name, keys := range m.kust.generatedKeys() {
		for key, file := range keys {
			_, err := os.Stat(filepath.Join(kubernetesDir, file))
			require.NoError(t, err, "ConfigMap %s, key %s", name, key)
		}
	}
}

// statefulSet is the part of the StatefulSet the tests read.
type statefulSet struct {
	Spec struct {
		Replicas    int    `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
					RunAsUser    int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []container `yaml:"containers"`
				Volumes    []volume    `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name  string   `yaml:"name"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env             []envVar `yaml:"env"`
	ReadinessProbe  *probe   `yaml:"readinessProbe"`
	LivenessProbe   *probe   `yaml:"livenessProbe"`
	StartupProbe    *probe   `yaml:"startupProbe"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		// Port is a number or the name of a container port.
		Port any `yaml:"port"`
	} `yaml:"httpGet"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName string `yaml:"secretName"`
	} `yaml:"secret"`
	EmptyDir *struct{} `yaml:"emptyDir"`
}

// probePort returns the container port a probe's port names.
func probePort(c container, port any) (int, bool) {
	switch p := port.(type) {
	case int:
		for _, cp := range c.Ports {
			if cp.ContainerPort == p {
				return p, true
			}
		}
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// selects reports whether a label selector (matchLabels, or a Service's
// selector) selects pods with the given labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// quantityBytes returns the bytes of a Kubernetes memory quantity in the
// forms used here: a plain number or one with a binary suffix (Ki, Mi, Gi).
func quantityBytes(t *testing.T, q string) int64 {
	t.Helper()
	shift := 0
	for i, suffix := range []string{"Ki", "Mi", "Gi", "Ti"} {
		if strings.HasSuffix(q, suffix) {
			shift = 10 * (i + 1)
			q = strings.TrimSuffix(q, suffix)
			break
		}
	}
	n, err := strconv.ParseInt(q, 10, 64)
	require.NoError(t, err, "memory quantity %q", q)
	return n << shift
}

// apiDefaultShutdown matches the declaration of api.DefaultShutdownTimeout
// (package api is imported by cmd only, so the test reads its source).
var apiDefaultShutdown = regexp.MustCompile(`(?m)^\s*DefaultShutdownTimeout\s*=\s*(\d+)\s*\*\s*time\.(Second|Minute)\s*$`)

// apiShutdownTimeout returns api.DefaultShutdownTimeout, the bound of the
// HTTP server's graceful shutdown.
func apiShutdownTimeout(t *testing.T) time.Duration {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(apiDir, "server.go"))
	require.NoError(t, err)
	m := apiDefaultShutdown.FindSubmatch(data)
	require.NotNil(t, m, "%s/server.go declares no DefaultShutdownTimeout = N * time.Second", apiDir)
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	unit := time.Second
	if string(m[2]) == "Minute" {
		unit = time.Minute
	}
	return time.Duration(n) * unit
}

func TestStatefulSet(t *testing.T) {
	m := loadManifests(t)
	var sts statefulSet
	var found bool
	for i, o := range m.objects {
		if o.Kind == "StatefulSet" {
			require.False(t, found, "more than one StatefulSet")
			require.NoError(t, m.nodes[i].Decode(&sts))
			found = true
		}
	}
	require.True(t, found, "no StatefulSet")
	pod := sts.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]

	// The configuration file the container is started with.
	i := slices.Index(c.Args, "--config.file")
	require.True(t, i >= 0 && i+1 < len(c.Args), "args %q do not name --config.file", c.Args)
	configPath := c.Args[i+1]

	// Which file of the kustomization directory provides a path in the
	// container, and of which kind of volume.
	generated := m.kust.generatedKeys()
	volumes := map[string]volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		require.Contains(t, volumes, vm.Name, "volume mount %s has no volume", vm.MountPath)
	}
	type source struct {
		kind string // "configMap", "secret", "emptyDir"
		file string // for a ConfigMap key: the file of the kustomization it comes from
	}
	provide := func(t *testing.T, p string) source {
		t.Helper()
		for _, vm := range c.VolumeMounts {
			rel, err := filepath.Rel(vm.MountPath, p)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				continue
			}
			v := volumes[vm.Name]
			switch {
			case v.ConfigMap != nil:
				keys, ok := generated[v.ConfigMap.Name]
				require.True(t, ok, "%s: ConfigMap %s is not generated by kustomization.yaml", p, v.ConfigMap.Name)
				file, ok := keys[rel]
				require.True(t, ok, "%s: ConfigMap %s has no key %s", p, v.ConfigMap.Name, rel)
				return source{kind: "configMap", file: filepath.Join(kubernetesDir, file)}
			case v.Secret != nil:
				_, s, ok := m.find("Secret", v.Secret.SecretName)
				require.True(t, ok, "%s: no Secret %s", p, v.Secret.SecretName)
				_, inString := s.StringData[rel]
				_, inData := s.Data[rel]
				require.True(t, inString || inData, "%s: Secret %s has no key %s", p, v.Secret.SecretName, rel)
				return source{kind: "secret"}
			case v.EmptyDir != nil:
				return source{kind: "emptyDir"}
			}
			t.Fatalf("%s: volume %s is neither a ConfigMap, a Secret nor an emptyDir", p, vm.Name)
		}
		t.Fatalf("%s is on no volume of the container (root file system is read-only)", p)
		return source{}
	}

	cfgSrc := provide(t, configPath)
	require.Equal(t, "configMap", cfgSrc.kind)
	var cfg struct {
		DataDir string `yaml:"data_dir"`
		Web     struct {
			ListenAddress string `yaml:"listen_address"`
		} `yaml:"web"`
		Registry struct {
			File string `yaml:"file"`
		} `yaml:"registry"`
		Privacy struct {
			VisitorKeyFile string `yaml:"visitor_key_file"`
		} `yaml:"privacy"`
		Kafka struct {
			ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
		} `yaml:"kafka"`
	}
	decodeFile(t, cfgSrc.file, &cfg)

	t.Run("probes", func(t *testing.T) {
		webPort := listenPort(t, cfg.Web.ListenAddress)
		served := servedPaths(t)
		for _, tc := range []struct {
			name  string
			probe *probe
			path  string
		}{
			{name: "readiness", probe: c.ReadinessProbe, path: "/readyz"},
			{name: "liveness", probe: c.LivenessProbe, path: "/healthz"},
			{name: "startup", probe: c.StartupProbe, path: "/healthz"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				require.NotNil(t, tc.probe, "no %s probe", tc.name)
				require.NotNil(t, tc.probe.HTTPGet, "%s probe is not an HTTP GET", tc.name)
				require.Equal(t, tc.path, tc.probe.HTTPGet.Path)
				require.Contains(t, served, tc.probe.HTTPGet.Path, "%s probe: the server has no route GET %s (%s)", tc.name, tc.probe.HTTPGet.Path, apiDir)
				port, ok := probePort(c, tc.probe.HTTPGet.Port)
				require.True(t, ok, "%s probe port %v is not a port of the container", tc.name, tc.probe.HTTPGet.Port)
				require.Equal(t, webPort, port, "%s probe port is not web.listen_address of %s", tc.name, cfgSrc.file)
			})
		}
	})

	t.Run("paths of the configuration", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			path string
			kind string
		}{
			{name: "registry.file", path: cfg.Registry.File, kind: "configMap"},
			{name: "privacy.visitor_key_file", path: cfg.Privacy.VisitorKeyFile, kind: "secret"},
			{name: "data_dir", path: filepath.Join(cfg.DataDir, "x"), kind: "emptyDir"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				require.NotEmpty(t, tc.path)
				require.Equal(t, tc.kind, provide(t, tc.path).kind, "%s %s", tc.name, tc.path)
			})
		}
	})

	t.Run("secrets in the environment", func(t *testing.T) {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			_, s, ok := m.find("Secret", ref.Name)
			require.True(t, ok, "env %s: no Secret %s", e.Name, ref.Name)
			_, inString := s.StringData[ref.Key]
			_, inData := s.Data[ref.Key]
			require.True(t, inString || inData, "env %s: Secret %s has no key %s", e.Name, ref.Name, ref.Key)
		}
	})

	t.Run("pods selected by the Services and the budget", func(t *testing.T) {
		labels := sts.Spec.Template.Metadata.Labels
		require.NotEmpty(t, sts.Spec.Selector.MatchLabels)
		require.True(t, selects(sts.Spec.Selector.MatchLabels, labels), "the StatefulSet's selector %v does not select its pods %v", sts.Spec.Selector.MatchLabels, labels)

		// The governing Service is headless.
		n, _, ok := m.find("Service", sts.Spec.ServiceName)
		require.True(t, ok, "serviceName %q names no Service", sts.Spec.ServiceName)
		var governing service
		require.NoError(t, n.Decode(&governing))
		require.Equal(t, "None", governing.Spec.ClusterIP, "Service %s governs the StatefulSet but is not headless", sts.Spec.ServiceName)

		var services, budgets int
		for i, o := range m.objects {
			switch o.Kind {
			case "Service":
				services++
				var svc service
				require.NoError(t, m.nodes[i].Decode(&svc))
				require.NotEmpty(t, svc.Spec.Selector, "Service %s selects nothing", o.Metadata.Name)
				require.True(t, selects(svc.Spec.Selector, labels), "Service %s: selector %v does not select the StatefulSet's pods %v", o.Metadata.Name, svc.Spec.Selector, labels)
			case "PodDisruptionBudget":
				budgets++
				var pdb disruptionBudget
				require.NoError(t, m.nodes[i].Decode(&pdb))
				require.NotEmpty(t, pdb.Spec.Selector.MatchLabels, "PodDisruptionBudget %s selects nothing", o.Metadata.Name)
				require.True(t, selects(pdb.Spec.Selector.MatchLabels, labels), "PodDisruptionBudget %s: selector %v does not select the StatefulSet's pods %v", o.Metadata.Name, pdb.Spec.Selector.MatchLabels, labels)
				// One instance down at a time, whatever replicas says.
				require.Nil(t, pdb.Spec.MinAvailable, "PodDisruptionBudget %s: minAvailable", o.Metadata.Name)
				require.Equal(t, 1, pdb.Spec.MaxUnavailable, "PodDisruptionBudget %s: maxUnavailable", o.Metadata.Name)
			}
		}
		require.GreaterOrEqual(t, services, 2, "a headless Service and the Service people reach")
		require.Equal(t, 1, budgets)
		// A budget of one unavailable pod leaves the others serving only
		// with more than one replica.
		require.GreaterOrEqual(t, sts.Spec.Replicas, 2)
	})

	t.Run("shutdown within the grace period", func(t *testing.T) {
		grace := pod.TerminationGracePeriodSeconds
		require.NotNil(t, grace, "no terminationGracePeriodSeconds")
		flush := cfg.Kafka.ShutdownTimeout
		if flush == 0 {
			flush = ingest.DefaultShutdownTimeout
		}
		// The consumer's last flush and the HTTP server's drain, even one
		// after the other, end before the kill.
		drain := apiShutdownTimeout(t)
		require.Greater(t, time.Duration(*grace)*time.Second, flush+drain, "terminationGracePeriodSeconds %d does not cover the last flush (%s) and the HTTP drain (%s)", *grace, flush, drain)
	})

	t.Run("memory", func(t *testing.T) {
		res := c.Resources
		request, ok := res.Requests["memory"]
		require.True(t, ok, "no memory request")
		limit, ok := res.Limits["memory"]
		require.True(t, ok, "no memory limit")
		require.LessOrEqual(t, quantityBytes(t, request), quantityBytes(t, limit), "memory request %s above the limit %s", request, limit)
		// GOMEMLIMIT below the limit, so that the runtime collects harder
		// before the kernel kills the container.
		i := slices.IndexFunc(c.Env, func(e envVar) bool { return e.Name == "GOMEMLIMIT" })
		require.GreaterOrEqual(t, i, 0, "no GOMEMLIMIT")
		soft := strings.TrimSuffix(c.Env[i].Value, "B") // the runtime's suffixes: KiB, MiB, GiB
		require.Less(t, quantityBytes(t, soft), quantityBytes(t, limit), "GOMEMLIMIT %s is not below the memory limit %s", c.Env[i].Value, limit)
	})

	t.Run("security", func(t *testing.T) {
		require.True(t, pod.SecurityContext.RunAsNonRoot)
		require.NotZero(t, pod.SecurityContext.RunAsUser)
		require.True(t, c.SecurityContext.ReadOnlyRootFilesystem)
		require.NotNil(t, c.SecurityContext.AllowPrivilegeEscalation)
		require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	})
}

// TestVisitorKeyPlaceholder keeps a usable key out of the repository: the
// shipped value must be one the engine refuses, so that an install that
// forgot to set its own key does not start with a key known to everyone.
func TestVisitorKeyPlaceholder(t *testing.T) {
	m := loadManifests(t)
	var cfg struct {
		Privacy struct {
			VisitorKeyFile string `yaml:"visitor_key_file"`
		} `yaml:"privacy"`
	}
	file := m.kust.generatedKeys()["sanse-config"]["sanse.yaml"]
	require.NotEmpty(t, file, "kustomization.yaml generates no sanse-config with sanse.yaml")
	decodeFile(t, filepath.Join(kubernetesDir, file), &cfg)
	key := path.Base(cfg.Privacy.VisitorKeyFile)
	var checked bool
	for _, o := range m.objects {
		if o.Kind != "Secret" {
			continue
		}
		if v, ok := o.StringData[key]; ok {
			require.Less(t, len(strings.TrimSpace(v)), minVisitorKeyBytes, "Secret %s holds a usable visitor key", o.Metadata.Name)
			checked = true
		}
		require.NotContains(t, o.Data, key, "Secret %s holds a visitor key in data", o.Metadata.Name)
	}
	require.True(t, checked, "no Secret holds %s", key)
}

// TestKustomizeBuild renders the kustomization with kubectl, where one is
// installed: what `kubectl apply -k` would send, every listed file and
// generated ConfigMap included, and the StatefulSet's ConfigMap volumes
// pointing at the generated names.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", kubernetesDir).Output()
	require.NoError(t, err, "kubectl kustomize %s", kubernetesDir)

	m := loadManifests(t)
	dec := yaml.NewDecoder(bytes.NewReader(out))
	rendered := map[string]bool{} // kind/name
	var sts statefulSet
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var o object
		require.NoError(t, n.Decode(&o))
		rendered[o.Kind+"/"+o.Metadata.Name] = true
		if o.Kind == "StatefulSet" {
			require.NoError(t, n.Decode(&sts))
		}
	}
	for _, o := range m.objects {
		require.True(t, rendered[o.Kind+"/"+o.Metadata.Name], "%s %s is not rendered", o.Kind, o.Metadata.Name)
	}
	var configMaps int
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			configMaps++
			require.True(t, rendered["ConfigMap/"+v.ConfigMap.Name], "volume %s: ConfigMap %s is not rendered", v.Name, v.ConfigMap.Name)
		}
	}
	require.NotZero(t, configMaps, "the rendered StatefulSet mounts no ConfigMap")
}
